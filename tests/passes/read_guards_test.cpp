#include "passes/read_guards.hpp"

#include <gtest/gtest.h>

#include "bpf_run.hpp"
#include "ir/evaluate.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

namespace p0fbpf {
namespace {

// A negated program accepts exactly what the plain one rejects: also short,
// truncated and empty packets, where a read past the end would otherwise
// end the program with 0.
using namespace ir;

TEST(ReadGuards, TheLastBranchLosesItsGuards) {
  ConditionPtr guard = read_guard(ge(packet_length(), 60u, "room for the options"));
  ConditionPtr check = eq(load(Width::Byte, 59), 7u, "scale");
  // b accepts packets of 31 bytes: a's guard keeps them from ending the
  // program in a's read.
  ConditionPtr short_check = eq(load(Width::Byte, 30), 7u, "short");
  Program p;
  p.branches.push_back({"a", all({guard, check}), 4, 0});
  p.branches.push_back({"b", all({guard, short_check}), 4, 0});
  Program out = drop_last_read_guards(p);
  EXPECT_EQ(to_string(out.branches[0].condition), to_string(all({guard, check})));
  EXPECT_EQ(to_string(out.branches[1].condition), to_string(short_check));
}

// A guard goes where every later branch of the version accepts only packets
// at least as long as it asks: their reads at fixed offsets, and their own
// length checks, say how long.
TEST(ReadGuards, AGuardGoesWhereNoLaterBranchAcceptsWhatItKeepsOut) {
  ConditionPtr guard = read_guard(ge(packet_length(), 60u, "room for the options"));
  ConditionPtr check = eq(load(Width::Byte, 59), 7u, "scale");
  auto guarded_after = [&](std::vector<ConditionPtr> later) {
    Program p;
    p.branches.push_back({"a", all({guard, check}), 4, 0});
    p.branches.push_back({"b", all(std::move(later)), 4, 0});
    return to_string(drop_last_read_guards(p).branches[0].condition) == to_string(all({guard, check}));
  };
  EXPECT_FALSE(guarded_after({eq(load(Width::Byte, 59), 1u, "b reads byte 59")}));
  EXPECT_FALSE(guarded_after({eq(load(Width::Half, 70), 1u, "b reads on")}));
  EXPECT_FALSE(guarded_after({ge(packet_length(), 60u, "length"), eq(load(Width::Byte, 30), 1u, "b")}));
  EXPECT_FALSE(guarded_after({gt(packet_length(), 59u, "length"), eq(load(Width::Byte, 30), 1u, "b")}));
  EXPECT_TRUE(guarded_after({eq(load(Width::Byte, 58), 1u, "one byte short")}));
  EXPECT_TRUE(guarded_after({ge(packet_length(), 59u, "length"), eq(load(Width::Byte, 30), 1u, "b")}));
  // A read inside an alternative may not run: it says nothing.
  EXPECT_TRUE(guarded_after({any({eq(load(Width::Byte, 70), 1u, "x"), eq(load(Width::Byte, 1), 1u, "y")})}));
  // Neither does a length counted from elsewhere: framed branches keep their
  // guards.
  Program framed;
  framed.branches.push_back({"a", all({guard, check}), 4, 0});
  framed.branches.push_back({"b", all({check}), 4, 0});
  framed.branches[0].framing = eq(frame_load(Width::Half, 12), 0x0800u, "ethertype");
  framed.branches[1].framing = framed.branches[0].framing;
  EXPECT_EQ(to_string(drop_last_read_guards(framed).branches[0].condition), to_string(all({guard, check})));
}

// A guard `length > K-1` is the same as `length >= K`.
TEST(ReadGuards, AStrictGuardCountsOneMore) {
  ConditionPtr check = eq(load(Width::Byte, 59), 7u, "scale");
  auto kept = [&](std::uint32_t above, std::uint32_t later_reads_to) {
    ConditionPtr guard = read_guard(gt(packet_length(), above, "room"));
    Program p;
    p.branches.push_back({"a", all({guard, check}), 4, 0});
    p.branches.push_back({"b", all({eq(load(Width::Byte, later_reads_to - 1), 1u, "b")}), 4, 0});
    return to_string(drop_last_read_guards(p).branches[0].condition) == to_string(all({guard, check}));
  };
  EXPECT_FALSE(kept(59, 60));  // len > 59 keeps out what b cannot accept
  EXPECT_TRUE(kept(59, 59));   // a 59-byte packet b accepts
  EXPECT_TRUE(kept(60, 62));   // a reads only to 60: a packet of 60 it would accept
}

// A guard in front of reads that may not run (the padding after `eol`,
// read in alternatives, here nearest first) stays: without it a truncated packet could be
// accepted where the guard sent it on to a later branch, which ends the
// program reading past it. Over every length around the guard, the
// program with and without the pass gives the same verdict and branch.
TEST(ReadGuards, AGuardBeforeReadsThatMayNotRunStays) {
  ConditionPtr guard = read_guard(ge(packet_length(), 48u, "eol padding: in packet"));
  Program p;
  ConditionPtr padding = any({ne(load(Width::Half, 45), 0u, "padding"), ne(load(Width::Byte, 47), 0u, "padding")});
  p.branches.push_back({"a", all({eq(load(Width::Byte, 40), 2u, "mss"), guard, padding}), 4, 0});
  p.branches.push_back({"b", all({eq(load(Width::Byte, 40), 2u, "mss"), eq(load(Width::Byte, 49), 3u, "ws")}), 4, 0});
  Program out = drop_last_read_guards(p);
  EXPECT_EQ(to_string(out.branches[0].condition), to_string(p.branches[0].condition));
  for (std::size_t length = 36; length <= 60; ++length) {
    std::vector<std::uint8_t> packet(length, 0);
    packet[0] = 0x45;
    if (length > 40) packet[40] = 2;
    for (std::size_t i = 43; i < length; ++i) packet[i] = 1;
    if (length > 49) packet[49] = 3;
    Verdict before = evaluate(p, packet), after = evaluate(out, packet);
    EXPECT_EQ(before.accepted, after.accepted) << length;
    EXPECT_EQ(before.branch, after.branch) << length;
  }
}

// A branch that only branches of the other IP version follow loses its
// guards too: they cannot accept a packet of its version. One that a branch
// of its own version, or of both, follows keeps them where that branch
// accepts shorter packets.
TEST(ReadGuards, BranchesFollowedOnlyByTheOtherVersionLoseTheirGuards) {
  ConditionPtr guard = read_guard(ge(packet_length(), 60u, "room for the options"));
  ConditionPtr check = eq(load(Width::Byte, 30), 7u, "short");
  const std::string guarded = to_string(all({guard, check})), bare = to_string(check);
  Program p;
  p.branches.push_back({"v4 before v4", all({guard, check}), 4, 0});
  p.branches.push_back({"v4 before v6", all({guard, check}), 4, 0});
  p.branches.push_back({"v6 before v6", all({guard, check}), 6, 0});
  p.branches.push_back({"v6 last", all({guard, check}), 6, 0});
  Program out = drop_last_read_guards(p);
  EXPECT_EQ(to_string(out.branches[0].condition), guarded);
  EXPECT_EQ(to_string(out.branches[1].condition), bare);
  EXPECT_EQ(to_string(out.branches[2].condition), guarded);
  EXPECT_EQ(to_string(out.branches[3].condition), bare);

  Program both;
  ConditionPtr shorter = read_guard(ge(packet_length(), 40u, "room for less"));
  both.branches.push_back({"v4", all({guard, check}), 4, 0});
  both.branches.push_back({"either version", all({shorter, check}), 0, 0});
  both.branches.push_back({"v6", all({guard, check}), 6, 0});
  out = drop_last_read_guards(both);
  EXPECT_EQ(to_string(out.branches[0].condition), guarded);
  EXPECT_EQ(to_string(out.branches[1].condition), to_string(all({shorter, check})));
  EXPECT_EQ(to_string(out.branches[2].condition), bare);
}

TEST(ReadGuards, NegatedBranchesFirstCheckTheirFixedReads) {
  Program p;
  p.branches.push_back({"a", all({eq(frame_load(Width::Half, 12), 0x0800u, "ethertype"),
                                  eq(load(Width::Word, 56), 1u, "options")}),
                        4, 14});
  Program out = guard_fixed_reads(p);
  // The last read ends at byte 60 of the IP packet.
  EXPECT_EQ(to_string(out.branches[0].condition),
            "all\n"
            "  len >= #60  ; packet holds every fixed read\n"
            "  ldh[frame+12] == #2048  ; ethertype\n"
            "  ld[56] == #1  ; options\n");
}

TEST(ReadGuards, NegatedProgramAcceptsExactlyWhatThePlainProgramRejects) {
  std::vector<std::string> sigs;
  for (const auto& s : testing::tcp_signatures("/etc/p0f/p0f.fp")) {
    if (sigs.size() < 60 && !s.response) sigs.push_back(s.text);
  }
  sigs.push_back("*:64:0:*:*,*:mss,sack,?30,nop::*");
  sigs.push_back("4:64:*:*:*,*:mss,nop,nop,ts:df:*");
  testing::Random rng(77);
  std::size_t packets = 0;
  for (const std::string& text : sigs) {
    Result<Signature> sig = parse_signature(text);
    if (!sig.ok()) continue;
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      for (LinkType link : {LinkType::Raw, LinkType::Ethernet}) {
        CompileOptions options;
        options.verify_each_pass = true;
        options.mode = mode;
        options.link.type = link;
        BpfProgram plain = *compile({{text, ""}}, options).program;
        options.negate = true;
        Compilation negated_compilation = compile({{text, ""}}, options);
        BpfProgram negated = *negated_compilation.program;
        // Behind a link header a negated program decides only about SYNs
        // (its gate, syn_gate_test.cpp): what the gate lets by, neither
        // program accepts.
        EXPECT_EQ(negated_compilation.ir->gate.empty(), link == LinkType::Raw);
        options.fit_within = 1;  // the smallest form: one branch for both versions
        BpfProgram negated_small = *compile({{text, ""}}, options).program;
        for (int i = 0; i < 30; ++i) {
          bool v6 = sig->version == IpVersion::V6 || (sig->version == IpVersion::Any && i % 2);
          testing::PacketSpec p = testing::matching_packet(*sig, v6, false, rng);
          if (i % 3) p = testing::mutate(p, rng);
          auto bytes = testing::build_packet(p);
          if (link == LinkType::Ethernet) bytes = testing::ethernet_frame(bytes, p.ipv6);
          if (i % 5 == 4) bytes.resize(rng() % (bytes.size() + 1));  // cut anywhere, even to nothing
          if (ir::evaluate(*negated_compilation.ir, bytes, true).outside_gate) {
            ASSERT_EQ(testing::run_bpf(plain, bytes), 0u) << text << ": the plain program accepts a non-SYN";
            ASSERT_EQ(testing::run_bpf(negated, bytes), 0u) << text << ": past the gate with " << bytes.size() << " bytes";
            ASSERT_EQ(testing::run_bpf(negated_small, bytes), 0u) << text << ": past the gate, smallest form";
            continue;
          }
          ASSERT_NE(testing::run_bpf(plain, bytes) != 0, testing::run_bpf(negated, bytes) != 0)
              << text << " with " << bytes.size() << " bytes";
          ASSERT_NE(testing::run_bpf(plain, bytes) != 0, testing::run_bpf(negated_small, bytes) != 0)
              << text << " with " << bytes.size() << " bytes, smallest form";
          ++packets;
        }
      }
    }
  }
  EXPECT_GT(packets, 5000u);
}

}  // namespace
}  // namespace p0fbpf
