#include "passes/share_versions.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "bpf_run.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

Branch branch(int version, std::uint32_t tcp, std::vector<ConditionPtr> checks) {
  Branch b{version == 4 ? "v4" : "v6", all(std::move(checks)), version, 0};
  b.tcp_offset = tcp;
  return b;
}

ConditionPtr v4_header() { return eq(bit_and(load(Width::Byte, 0), 0xf0), 0x40u, "ver"); }
ConditionPtr v6_header() { return eq(bit_and(load(Width::Byte, 0), 0xf0), 0x60u, "ver"); }

TEST(ShareVersions, TcpChecksAreSharedThroughTheOffsetVariable) {
  Program p;
  p.branches.push_back(branch(4, 20, {v4_header(), eq(load(Width::Byte, 8), 64u, "ttl"),
                                      eq(load(Width::Byte, 33), 2u, "flags")}));
  p.branches.push_back(branch(6, 40, {v6_header(), eq(load(Width::Byte, 7), 64u, "ttl"),
                                      eq(load(Width::Byte, 53), 2u, "flags")}));
  Program shared = share_versions(p);
  ASSERT_EQ(shared.branches.size(), 1u);
  EXPECT_EQ(shared.branches[0].ip_version, 0);
  // Both sides first mask the version byte: one bit of it picks the side.
  // The variable counts from the IPv4 side's TCP header (20 bytes in), so
  // that side sets it to 0.
  EXPECT_EQ(to_string(shared.branches[0].condition),
            "all\n"
            "  if\n"
            "    ldb[0] &!=0 #32  ; ip version 6\n"
            "  then\n"
            "    all\n"
            "      $tcp := #20  ; tcp header (IPv6)\n"
            "      (ldb[0] & #240) == #96  ; ver\n"
            "      ldb[7] == #64  ; ttl\n"
            "  else\n"
            "    all\n"
            "      $tcp := #0  ; tcp header (IPv4)\n"
            "      (ldb[0] & #240) == #64  ; ver\n"
            "      ldb[8] == #64  ; ttl\n"
            "  ldb[$tcp+33] == #2  ; flags\n");
}

TEST(ShareVersions, AnExcludingFirstCheckPicksTheSide) {
  Program p;
  p.branches.push_back(branch(4, 20, {eq(frame_load(Width::Half, 12), 0x0800u, "ethertype"), v4_header(),
                                      eq(load(Width::Byte, 33), 2u, "flags")}));
  p.branches.push_back(branch(6, 40, {eq(frame_load(Width::Half, 12), 0x86ddu, "ethertype"), v6_header(),
                                      eq(load(Width::Byte, 53), 2u, "flags")}));
  Program shared = share_versions(p);
  ASSERT_EQ(shared.branches.size(), 1u);
  EXPECT_EQ(to_string(shared.branches[0].condition),
            "all\n"
            "  if\n"
            "    ldh[frame+12] == #2048  ; ethertype\n"
            "  then\n"
            "    all\n"
            "      $tcp := #0  ; tcp header (IPv4)\n"
            "      (ldb[0] & #240) == #64  ; ver\n"
            "  else\n"
            "    all\n"
            "      $tcp := #20  ; tcp header (IPv6)\n"
            "      ldh[frame+12] == #34525  ; ethertype\n"
            "      (ldb[0] & #240) == #96  ; ver\n"
            "  ldb[$tcp+33] == #2  ; flags\n");
}

TEST(ShareVersions, WhereTheTailsDifferTheVersionDecides) {
  Program p;
  p.branches.push_back(branch(4, 20, {v4_header(), eq(load(Width::Byte, 33), 2u, "flags"),
                                      any({eq(load(Width::Half, 34), 100u, "win"),
                                           eq(load(Width::Half, 34), 200u, "win")})}));
  p.branches.push_back(branch(6, 40, {v6_header(), eq(load(Width::Byte, 53), 2u, "flags"),
                                      any({eq(load(Width::Half, 54), 100u, "win"),
                                           eq(load(Width::Half, 54), 200u, "win"),
                                           eq(load(Width::Half, 54), 300u, "win")})}));
  Program shared = share_versions(p);
  ASSERT_EQ(shared.branches.size(), 1u);
  std::string text = to_string(shared.branches[0].condition);
  // The common alternatives once, the IPv6-only one behind a version test.
  EXPECT_NE(text.find("ldh[$tcp+34] == #100"), std::string::npos) << text;
  EXPECT_NE(text.find("ldh[$tcp+34] == #300"), std::string::npos) << text;
  EXPECT_NE(text.find("ldb[0] &!=0 #32  ; ip version 6"), std::string::npos) << text;
}

TEST(ShareVersions, LeavesBranchesWhoseVersionsItCannotTellApart) {
  Program p;
  p.branches.push_back(branch(4, 20, {eq(load(Width::Byte, 33), 2u, "flags")}));
  p.branches.push_back(branch(6, 40, {eq(load(Width::Byte, 53), 2u, "flags")}));
  EXPECT_EQ(share_versions(p).branches.size(), 2u);
}

TEST(ShareVersions, PairsTheBranchesWithTheMostInCommon) {
  Program p;
  p.branches.push_back(branch(4, 20, {v4_header(), eq(load(Width::Byte, 33), 2u, "flags"),
                                      eq(load(Width::Half, 34), 100u, "win")}));
  p.branches.push_back(branch(6, 40, {v6_header(), eq(load(Width::Byte, 53), 2u, "flags"),
                                      eq(load(Width::Half, 54), 999u, "win")}));
  p.branches.push_back(branch(6, 40, {v6_header(), eq(load(Width::Byte, 53), 2u, "flags"),
                                      eq(load(Width::Half, 54), 100u, "win")}));
  Program shared = share_versions(p);
  ASSERT_EQ(shared.branches.size(), 2u);
  EXPECT_EQ(shared.branches[0].ip_version, 0);
  EXPECT_NE(to_string(shared.branches[1].condition).find("#999"), std::string::npos);
}

TEST(ShareVersions, LeavesBranchesWithNoTcpCheckInCommon) {
  Program p;
  p.branches.push_back(branch(4, 20, {v4_header(), eq(load(Width::Byte, 33), 2u, "flags")}));
  p.branches.push_back(branch(6, 40, {v6_header(), eq(load(Width::Byte, 53), 18u, "flags")}));
  EXPECT_EQ(share_versions(p).branches.size(), 2u);
}

TEST(ShareVersions, LeavesBranchesOfAnotherFraming) {
  Program p;
  p.branches.push_back(branch(4, 20, {v4_header(), eq(load(Width::Byte, 33), 2u, "flags")}));
  p.branches.push_back(branch(6, 40, {v6_header(), eq(load(Width::Byte, 53), 2u, "flags")}));
  p.branches[1].link_offset = 14;
  EXPECT_EQ(share_versions(p).branches.size(), 2u);
}

// The smallest form (one branch for both versions, the short window check)
// accepts exactly what the fastest form accepts, for every `*` signature of
// p0f.fp, in both modes (loose programs keep their two branches), on raw IP,
// on Ethernet with and without a tag, and behind Linux cooked headers.
TEST(ShareVersions, SmallestFormAcceptsWhatTheFastestAccepts) {
  testing::Random rng(2026);
  std::size_t packets = 0, matched = 0, shared_programs = 0;
  for (const auto& s : testing::tcp_signatures("/etc/p0f/p0f.fp")) {
    Signature sig = *parse_signature(s.text);
    if (sig.version != IpVersion::Any) continue;
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      for (LinkType link : {LinkType::Raw, LinkType::Ethernet, LinkType::LinuxCooked, LinkType::LinuxCooked2}) {
        CompileOptions options;
        options.verify_each_pass = true;
        options.mode = mode;
        options.direction = s.response ? Direction::Response : Direction::Request;
        options.link.type = link;
        BpfProgram fastest = *compile({{s.text, ""}}, options).program;
        options.fit_within = 1;
        Compilation small = compile({{s.text, ""}}, options);
        bool shared = false;
        for (const Branch& b : small.ir->branches) shared = shared || b.ip_version == 0;
        shared_programs += shared;
        for (int i = 0; i < 24; ++i) {
          bool v6 = i % 2;
          testing::PacketSpec p = i % 8 == 7 ? testing::random_packet(v6, s.response, rng)
                                             : testing::matching_packet(sig, v6, s.response, rng);
          if (i % 3 != 0) p = testing::mutate(p, rng);
          auto bytes = testing::build_packet(p);
          if (link == LinkType::Ethernet) {
            bytes = testing::ethernet_frame(bytes, p.ipv6, i % 4 >= 2);
          } else if (link != LinkType::Raw) {
            // Now and then the protocol field of the other version.
            bytes = testing::cooked_frame(bytes, p.ipv6 != (i % 6 == 5), link == LinkType::LinuxCooked2);
          }
          bool a = testing::run_bpf(fastest, bytes) != 0;
          ASSERT_EQ(a, testing::run_bpf(*small.program, bytes) != 0) << s.text << (v6 ? " IPv6" : " IPv4");
          ++packets;
          matched += a;
        }
      }
    }
  }
  std::printf("%zu packets, %zu accepted, %zu programs with a shared branch\n", packets, matched, shared_programs);
  EXPECT_GT(matched, packets / 10);
  EXPECT_GT(shared_programs, 300u);  // raw and both cooked headers
}

// A size target (docs/benchmarks.md, "Program size and speed"): each `*` signature of
// p0f.fp is one xt_bpf program, within 64 instructions, for both IP versions.
TEST(ShareVersions, EveryStarSignatureOfP0fDatabaseFitsOneRule) {
  std::size_t count = 0;
  for (const auto& s : testing::tcp_signatures("/etc/p0f/p0f.fp")) {
    if (parse_signature(s.text)->version != IpVersion::Any) continue;
    CompileOptions options;
    options.verify_each_pass = true;
    options.direction = s.response ? Direction::Response : Direction::Request;
    options.fit_within = 64;
    Compilation c = compile({{s.text, ""}}, options);
    ASSERT_TRUE(c.ok()) << s.text;
    EXPECT_LE(c.program->instructions.size(), 64u) << s.text;
    ++count;
  }
  EXPECT_GT(count, 100u);
}

}  // namespace
}  // namespace p0fbpf
