#include "p0fbpf/optimize.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "bpf_run.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

TEST(Optimize, NeighbouringBytesBecomeOneCompare) {
  ConditionPtr c = all({eq(load(Width::Byte, 0), 0x45u, "ver"), le(load(Width::Byte, 8), 64u, "ttl"),
                        eq(load(Width::Half, 2), 60u, "len"), eq(load(Width::Byte, 9), 6u, "proto")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ldb[8] <= #64  ; ttl\n"
            "  (ld[0] & #4278255615) == #1157627964  ; ver, len\n"
            "  ldb[9] == #6  ; proto\n");
}

TEST(Optimize, ThreeBytesReadNoFurtherThanBefore) {
  // Bytes 57..59: the word starts at 56, never reaching 60.
  ConditionPtr c = all({eq(load(Width::Half, 57), 0x0303u, "ws"), eq(load(Width::Byte, 59), 6u, "scale")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)), "(ld[56] & #16777215) == #197382  ; ws, scale\n");
}

TEST(Optimize, RangeAfterFixedBytesBecomesOneWordRange) {
  // IPv6 payload length 40, next header TCP, hop limit 29..64: two compares.
  ConditionPtr c = all({eq(load(Width::Half, 4), 40u, "pclass"), le(load(Width::Byte, 7), 64u, "ttl"),
                        ge(load(Width::Byte, 7), 29u, "ttl"), eq(load(Width::Byte, 6), 6u, "proto")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ld[4] <= #2623040  ; pclass, proto, ttl\n"
            "  ld[4] >= #2623005  ; pclass, proto, ttl\n");
}

TEST(Optimize, RangeAfterOneLoneFixedByteBecomesHalfWordRange) {
  ConditionPtr c = all({eq(load(Width::Byte, 58), 3u, "ws length"), le(load(Width::Byte, 59), 14u, "exws")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ldh[58] <= #782  ; ws length, exws\n"
            "  ldh[58] >= #768  ; ws length, exws\n");
}

TEST(Optimize, RangeStaysWhenMergingSavesNothing) {
  // Two fixed bytes would need a masked word: the range keeps its byte.
  ConditionPtr c = all({eq(load(Width::Half, 6), 0x4000u, "df"), le(load(Width::Byte, 8), 64u, "ttl")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ldh[6] == #16384  ; df\n"
            "  ldb[8] <= #64  ; ttl\n");
}

TEST(Optimize, ContradictionsNeverHold) {
  ConditionPtr c = all({eq(load(Width::Half, 0), 0x4500u, "a"), eq(load(Width::Byte, 0), 0x46u, "b")});
  EXPECT_TRUE(is_never(merge_neighbouring_checks(c)));
}

// -O1 and -O0 accept the same packets: matching, near-miss and random ones,
// for every TCP signature of p0f.fp and the examples.
TEST(Optimize, SameVerdictsAsUnoptimized) {
  std::vector<std::pair<std::string, bool>> sigs;
  for (const char* path : {"/etc/p0f/p0f.fp", P0FBPF_TEST_DATA "/../signatures/examples.fp"}) {
    for (const auto& s : testing::tcp_signatures(path)) sigs.emplace_back(s.text, s.response);
  }
  ASSERT_GE(sigs.size(), 5u);
  testing::Random rng(4242);
  std::size_t packets = 0, matched = 0;
  for (const auto& [text, response] : sigs) {
    Signature sig = *parse_signature(text);
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      for (LinkType link : {LinkType::Raw, LinkType::Ethernet}) {
        CompileOptions options;
        options.lower.mode = mode;
        options.lower.direction = response ? Direction::Response : Direction::Request;
        options.link.type = link;
        BpfProgram optimized = *compile({{text, ""}}, options).program;
        options.optimize = false;
        BpfProgram plain = *compile({{text, ""}}, options).program;
        EXPECT_LE(optimized.instructions.size(), plain.instructions.size()) << text;
        for (int i = 0; i < 24; ++i) {
          bool v6 = sig.version == IpVersion::V6 || (sig.version == IpVersion::Any && i % 2);
          testing::PacketSpec p = i % 6 == 5 ? testing::random_packet(v6, response, rng)
                                             : testing::matching_packet(sig, v6, response, rng);
          if (i % 3 != 0) p = testing::mutate(p, rng);
          auto bytes = testing::build_packet(p);
          if (link == LinkType::Ethernet) bytes = testing::ethernet_frame(bytes, p.ipv6);
          bool a = testing::run_bpf(optimized, bytes) != 0;
          ASSERT_EQ(a, testing::run_bpf(plain, bytes) != 0) << text;
          ++packets;
          matched += a;
        }
      }
    }
  }
  std::printf("%zu packets, %zu accepted, same verdicts optimized and not\n", packets, matched);
  EXPECT_GT(matched, packets / 10);
}

}  // namespace
}  // namespace p0fbpf

namespace p0fbpf {
namespace {

// A negated program accepts exactly what the plain one rejects: also short,
// truncated and empty packets, where a read past the end would otherwise
// end the program with 0.
TEST(Negate, AcceptsExactlyWhatThePlainProgramRejects) {
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
        options.lower.mode = mode;
        options.link.type = link;
        BpfProgram plain = *compile({{text, ""}}, options).program;
        options.codegen.negate = true;
        BpfProgram negated = *compile({{text, ""}}, options).program;
        for (int i = 0; i < 30; ++i) {
          bool v6 = sig->version == IpVersion::V6 || (sig->version == IpVersion::Any && i % 2);
          testing::PacketSpec p = testing::matching_packet(*sig, v6, false, rng);
          if (i % 3) p = testing::mutate(p, rng);
          auto bytes = testing::build_packet(p);
          if (link == LinkType::Ethernet) bytes = testing::ethernet_frame(bytes, p.ipv6);
          if (i % 5 == 4) bytes.resize(rng() % (bytes.size() + 1));  // cut anywhere, even to nothing
          ASSERT_NE(testing::run_bpf(plain, bytes) != 0, testing::run_bpf(negated, bytes) != 0)
              << text << " with " << bytes.size() << " bytes";
          ++packets;
        }
      }
    }
  }
  EXPECT_GT(packets, 5000u);
}

}  // namespace
}  // namespace p0fbpf

namespace p0fbpf {
namespace {

using namespace ir;

TEST(ShareBranches, OneDifferingCheckBecomesAnAlternative) {
  ConditionPtr ver = eq(load(Width::Byte, 0), 0x45u, "ver");
  Program p;
  p.branches.push_back({"a", all({ver, eq(load(Width::Byte, 59), 7u, "scale")}), 4, 0});
  p.branches.push_back({"b", all({ver, eq(load(Width::Byte, 59), 10u, "scale")}), 4, 0});
  p.branches.push_back({"c", all({ver, eq(load(Width::Byte, 59), 10u, "scale")}), 6, 0});  // another version
  p.branches.push_back({"d", all({eq(load(Width::Byte, 0), 0x46u, "ver"), eq(load(Width::Byte, 59), 3u, "scale")}), 4, 0});
  Program shared = share_branches(p);
  ASSERT_EQ(shared.branches.size(), 3u);
  EXPECT_EQ(to_string(shared.branches[0].condition),
            "all\n  ldb[0] == #69  ; ver\n  any\n    ldb[59] == #7  ; scale\n    ldb[59] == #10  ; scale\n");
  EXPECT_EQ(shared.branches[1].ip_version, 6);
}

// The two signatures of p0f.fp's "Linux:3.11 and newer" fit one xt_bpf
// program per IP version, and it matches packets of both.
TEST(ShareBranches, LinuxLabelFitsOneRulePerVersion) {
  const std::vector<SignatureSource> label = {{"*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0", ""},
                                              {"*:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0", ""}};
  testing::Random rng(5);
  for (int version : {4, 6}) {
    CompileOptions options;
    options.ip_version = version;
    BpfProgram both = *compile(label, options).program;
    EXPECT_LE(both.instructions.size(), 64u) << "IPv" << version;
    for (const auto& source : label) {
      Signature sig = *parse_signature(source.text);
      BpfProgram alone = *compile({source}, options).program;
      for (int i = 0; i < 50; ++i) {
        testing::PacketSpec p = testing::matching_packet(sig, version == 6, false, rng);
        if (i % 2) p = testing::mutate(p, rng);
        auto bytes = testing::build_packet(p);
        if (testing::run_bpf(alone, bytes)) EXPECT_NE(testing::run_bpf(both, bytes), 0u) << source.text;
      }
    }
  }
}

}  // namespace
}  // namespace p0fbpf
