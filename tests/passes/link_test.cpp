#include "passes/link.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>

#include "bpf_run.hpp"
#include "database_file.hpp"
#include "ir/evaluate.hpp"
#include "p0fbpf/compiler.hpp"
#include "packet_builder.hpp"
#include "program_pairs.hpp"
#include "test_env.hpp"

namespace p0fbpf {
namespace {

constexpr const char* kStar = "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

testing::PacketSpec syn(bool ipv6) {
  testing::PacketSpec p;
  p.ipv6 = ipv6;
  p.ttl = 60;
  p.ip_id = ipv6 ? 0 : 7;
  p.window = 14600;
  p.tcp_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3, 3, 6};
  return p;
}

BpfProgram compiled(LinkLayer link) {
  CompileOptions options;
  options.verify_each_pass = true;
  options.link = link;
  Compilation c = compile({{kStar, ""}}, options);
  EXPECT_TRUE(c.ok());
  return *c.program;
}

std::vector<std::uint8_t> with_header(std::vector<std::uint8_t> header, const std::vector<std::uint8_t>& ip) {
  header.insert(header.end(), ip.begin(), ip.end());
  return header;
}

std::vector<std::uint8_t> ethernet(const std::vector<std::uint8_t>& ip, std::uint16_t type, bool vlan) {
  std::vector<std::uint8_t> h = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
  if (vlan) h.insert(h.end(), {0x81, 0x00, 0x00, 0x2a});
  h.push_back(static_cast<std::uint8_t>(type >> 8));
  h.push_back(static_cast<std::uint8_t>(type));
  return with_header(h, ip);
}

TEST(Link, RawIsTheIpHeaderFirst) {
  BpfProgram p = compiled({LinkType::Raw, 0});
  EXPECT_NE(testing::run_bpf(p, testing::build_packet(syn(false))), 0u);
  EXPECT_NE(testing::run_bpf(p, testing::build_packet(syn(true))), 0u);
}

TEST(Link, RawWithAnOffset) {
  BpfProgram p = compiled({LinkType::Raw, 6});
  auto ip = testing::build_packet(syn(false));
  EXPECT_NE(testing::run_bpf(p, with_header({9, 9, 9, 9, 9, 9}, ip)), 0u);
  EXPECT_EQ(testing::run_bpf(p, ip), 0u);
}

TEST(Link, EthernetChecksTheEtherType) {
  BpfProgram p = compiled({LinkType::Ethernet, 0});
  auto v4 = testing::build_packet(syn(false));
  auto v6 = testing::build_packet(syn(true));
  EXPECT_NE(testing::run_bpf(p, ethernet(v4, 0x0800, false)), 0u);
  EXPECT_NE(testing::run_bpf(p, ethernet(v6, 0x86dd, false)), 0u);
  EXPECT_EQ(testing::run_bpf(p, ethernet(v4, 0x86dd, false)), 0u);  // type and version disagree
  EXPECT_EQ(testing::run_bpf(p, ethernet(v4, 0x0806, false)), 0u);
  EXPECT_EQ(testing::run_bpf(p, v4), 0u);
}

TEST(Link, EthernetTakesOneVlanTag) {
  BpfProgram p = compiled({LinkType::Ethernet, 0});
  auto v4 = testing::build_packet(syn(false));
  auto v6 = testing::build_packet(syn(true));
  EXPECT_NE(testing::run_bpf(p, ethernet(v4, 0x0800, true)), 0u);
  EXPECT_NE(testing::run_bpf(p, ethernet(v6, 0x86dd, true)), 0u);
  EXPECT_EQ(testing::run_bpf(p, ethernet(v4, 0x86dd, true)), 0u);
  // Two tags are more than p0fbpf reads.
  auto double_tagged = ethernet(ethernet(v4, 0x0800, true), 0x8100, false);
  double_tagged.erase(double_tagged.begin() + 14, double_tagged.begin() + 26);
  EXPECT_EQ(testing::run_bpf(p, double_tagged), 0u);
}

// The IP datagram must be all there, whatever comes before it.
TEST(Link, TruncatedDatagramIsRejectedBehindAnyHeader) {
  testing::PacketSpec p = syn(false);
  p.payload.assign(10, 0xab);
  const std::string sig = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:+";
  for (std::size_t cut : {0u, 5u}) {
    p.cut = cut;
    auto ip = testing::build_packet(p);
    for (LinkLayer link : {LinkLayer{LinkType::Raw, 0}, LinkLayer{LinkType::Ethernet, 0}, LinkLayer{LinkType::Raw, 7}}) {
      CompileOptions options;
      options.verify_each_pass = true;
      options.link = link;
      Compilation c = compile({{sig, ""}}, options);
      auto frame = link.type == LinkType::Ethernet ? ethernet(ip, 0x0800, false)
                   : link.l3_offset ? with_header(std::vector<std::uint8_t>(7, 0), ip) : ip;
      EXPECT_EQ(testing::run_bpf(*c.program, frame) != 0, cut == 0) << "cut " << cut << " offset " << link.l3_offset;
    }
  }
}

TEST(Link, LinuxCookedCapture) {
  BpfProgram p = compiled({LinkType::LinuxCooked, 0});
  std::vector<std::uint8_t> v4_header = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00};
  std::vector<std::uint8_t> v6_header = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x86, 0xdd};
  EXPECT_NE(testing::run_bpf(p, with_header(v4_header, testing::build_packet(syn(false)))), 0u);
  EXPECT_NE(testing::run_bpf(p, with_header(v6_header, testing::build_packet(syn(true)))), 0u);
  EXPECT_EQ(testing::run_bpf(p, with_header(v6_header, testing::build_packet(syn(false)))), 0u);
}

TEST(Link, LoopbackHasAFourByteHeader) {
  BpfProgram p = compiled({LinkType::Loopback, 0});
  EXPECT_NE(testing::run_bpf(p, with_header({2, 0, 0, 0}, testing::build_packet(syn(false)))), 0u);
  EXPECT_NE(testing::run_bpf(p, with_header({0, 0, 0, 30}, testing::build_packet(syn(true)))), 0u);
}

TEST(Link, OneBranchPerSignatureBehindEthernet) {
  ir::Program program;
  program.branches.push_back({"v4", ir::always(), 4, 0});
  program.branches.push_back({"v6", ir::always(), 6, 0});
  EXPECT_EQ(apply_link(program, {LinkType::Raw, 0}).branches.size(), 2u);
  ir::Program ether = apply_link(program, {LinkType::Ethernet, 0});
  ASSERT_EQ(ether.branches.size(), 2u);
  EXPECT_NE(ether.branches[0].framing, nullptr);
  EXPECT_EQ(apply_link(program, {LinkType::LinuxCooked, 0}).branches[0].link_offset, 16u);
  EXPECT_EQ(apply_link(program, {LinkType::LinuxCooked2, 0}).branches[0].link_offset, 20u);
  EXPECT_EQ(parse_link_type("ether"), LinkType::Ethernet);
  EXPECT_EQ(parse_link_type("sll2"), LinkType::LinuxCooked2);
  EXPECT_FALSE(parse_link_type("token-ring").has_value());
}

TEST(Link, LinuxCookedCaptureV2) {
  BpfProgram p = compiled({LinkType::LinuxCooked2, 0});
  // Protocol type first, then interface index, ARPHRD_ETHER, packet type,
  // address length and address.
  std::vector<std::uint8_t> v4_header = {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
  std::vector<std::uint8_t> v6_header = v4_header;
  v6_header[0] = 0x86;
  v6_header[1] = 0xdd;
  EXPECT_NE(testing::run_bpf(p, with_header(v4_header, testing::build_packet(syn(false)))), 0u);
  EXPECT_NE(testing::run_bpf(p, with_header(v6_header, testing::build_packet(syn(true)))), 0u);
  EXPECT_EQ(testing::run_bpf(p, with_header(v6_header, testing::build_packet(syn(false)))), 0u);
  EXPECT_EQ(testing::run_bpf(p, testing::build_packet(syn(false))), 0u);
}

// frame_once: the program finds the IP header once (no tag, or one 802.1Q
// tag), each branch checks the EtherType behind it and reads through the
// shift; the IR's verdicts are those of the branches framed each.
TEST(FrameOnce, TheProgramFramesAndTheBranchesReadBehindIt) {
  ir::Program program;
  program.branches.push_back({"v4", ir::eq(ir::load(ir::Width::Byte, 8), 60, "ttl"), 4, 0});
  program.branches.push_back({"v6", ir::eq(ir::load(ir::Width::Byte, 7), 60, "ttl"), 6, 0});
  ir::Program framed = apply_link(program, {LinkType::Ethernet, 0});
  std::optional<ir::Program> once = frame_once(framed);
  ASSERT_TRUE(once);
  ASSERT_NE(once->framing, nullptr);
  for (const ir::Branch& branch : once->branches) {
    EXPECT_EQ(branch.framing, nullptr);
    EXPECT_EQ(branch.link_offset, 0u);
  }
  for (bool v6 : {false, true}) {
    for (bool tagged : {false, true}) {
      for (std::uint8_t ttl : {60, 61}) {
        testing::PacketSpec p = syn(v6);
        p.ttl = ttl;
        std::vector<std::uint8_t> frame = testing::ethernet_frame(testing::build_packet(p), v6, tagged);
        ir::Verdict was = ir::evaluate(framed, frame), now = ir::evaluate(*once, frame);
        EXPECT_EQ(now.accepted, ttl == 60) << v6 << tagged;
        EXPECT_EQ(now.accepted, was.accepted);
        EXPECT_EQ(now.branch, was.branch);
      }
    }
  }
  // Not for a single branch, whose own framing costs less, nor for
  // branches without the framing of Ethernet.
  ir::Program one = framed;
  one.branches.pop_back();
  EXPECT_FALSE(frame_once(one));
  EXPECT_FALSE(frame_once(apply_link(program, {LinkType::LinuxCooked, 0})));
  EXPECT_FALSE(frame_once(apply_link(program, {LinkType::Raw, 0})));
}

// Every label of a database, in every form, without copies per 802.1Q
// layout: framed once, against framed in each branch, the same verdicts on
// untagged and tagged frames, and no fit lost.
void compare_database(const std::string& path) {
  std::optional<DatabaseResult> read = testing::read_database_file(path);
  P0FBPF_REQUIRE(read, path + " missing (apt-get install p0f)");
  ASSERT_TRUE(read->ok());
  testing::PairCounts counts = testing::compare_program_pairs(
      read->database, 47,
      [](CompileOptions& options) {
        options.verify_each_pass = true;
        options.copy_per_tag = false;
      },
      [](CompileOptions& options) { options.frame_once = false; });
  std::printf("%s: %zu programs, %zu changed; %zu verdicts compared, %zu accepted\n", path.c_str(), counts.programs,
              counts.changed, counts.packets, counts.accepted);
  EXPECT_GT(counts.changed, counts.programs / 8);
  EXPECT_GT(counts.accepted, counts.packets / 20);
}

TEST(FrameOnceEquivalence, EveryLabelOfP0fFp) { compare_database("/etc/p0f/p0f.fp"); }

TEST(FrameOnceEquivalence, EveryLabelOfTheBundledDatabase) {
  compare_database(std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp");
}

}  // namespace
}  // namespace p0fbpf
