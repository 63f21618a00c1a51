#include "p0fbpf/compiler.hpp"

#include <gtest/gtest.h>

#include "bpf_run.hpp"
#include "packet_builder.hpp"

namespace p0fbpf {
namespace {

constexpr const char* kDesignCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
constexpr const char* kWindows = "*:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0";

testing::PacketSpec linux_syn() {
  testing::PacketSpec p;
  p.ttl = 60;
  p.ip_id = 7;
  p.window = 14600;
  p.tcp_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3, 3, 6};
  return p;
}

testing::PacketSpec windows_syn() {
  testing::PacketSpec p;
  p.ttl = 120;
  p.ip_id = 9;
  p.window = 8192;
  p.tcp_options = {2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2};
  return p;
}

TEST(Compiler, SeveralSignaturesMakeOneProgramMatchingAny) {
  Compilation c = compile({{kDesignCard, ""}, {kWindows, ""}}, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.ir.branches.size(), 3u);  // IPv4; IPv4 and IPv6
  EXPECT_TRUE(is_valid(*c.program));
  EXPECT_NE(testing::run_bpf(*c.program, testing::build_packet(linux_syn())), 0u);
  EXPECT_NE(testing::run_bpf(*c.program, testing::build_packet(windows_syn())), 0u);
  testing::PacketSpec other = windows_syn();
  other.window = 8193;
  EXPECT_EQ(testing::run_bpf(*c.program, testing::build_packet(other)), 0u);
  Compilation only_linux = compile({{kDesignCard, ""}}, {});
  EXPECT_EQ(testing::run_bpf(*only_linux.program, testing::build_packet(windows_syn())), 0u);
}

TEST(Compiler, ReportsEveryBadSignatureAndMakesNoProgram) {
  Compilation c = compile({{"4:64:0:*:mss*10,6:mss:df,XX:0", "<stdin>:1"}, {kDesignCard, ""},
                           {"4:300:0:*:*,*:::0", "<stdin>:3"}},
                          {});
  EXPECT_FALSE(c.ok());
  ASSERT_EQ(c.diagnostics.size(), 2u);
  EXPECT_EQ(c.diagnostics[0].source.origin, "<stdin>:1");
  EXPECT_NE(c.diagnostics[0].render().find("unknown quirk 'XX'"), std::string::npos);
  EXPECT_NE(c.diagnostics[1].render().find("<stdin>:3: error:"), std::string::npos);
}

TEST(Compiler, NeverMatchingSignatureWarnsAndStillCompiles) {
  Compilation c = compile({{"4:64:0:*:*,*::id+:0", ""}}, {});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].diagnostic.severity, Severity::Warning);
  EXPECT_EQ(c.program->instructions.size(), 1u);
  EXPECT_EQ(testing::run_bpf(*c.program, testing::build_packet(linux_syn())), 0u);
}

// fit_within takes the fastest form that fits: a branch per IP version when
// it may, one branch for both when it must, and the smallest otherwise.
TEST(Compiler, FitWithinPicksTheFastestFormThatFits) {
  const std::string star = "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  auto branches_and_size = [&](std::size_t fit) {
    CompileOptions options;
    options.fit_within = fit;
    Compilation c = compile({{star, ""}}, options);
    std::vector<int> versions;
    for (const auto& b : c.ir.branches) versions.push_back(b.ip_version);
    return std::pair(versions, c.program->instructions.size());
  };
  auto [fastest_versions, fastest] = branches_and_size(0);
  EXPECT_EQ(fastest_versions, (std::vector<int>{4, 6}));
  EXPECT_EQ(branches_and_size(fastest).second, fastest);  // it fits: nothing else is tried
  auto [rule_versions, rule] = branches_and_size(64);
  EXPECT_EQ(rule_versions, std::vector<int>{0});
  EXPECT_LE(rule, 64u);
  auto [smallest_versions, smallest] = branches_and_size(1);  // nothing fits: the smallest
  EXPECT_LE(smallest, rule);
  EXPECT_GT(smallest, 1u);
  // A signature for one version has nothing to share, only the window check to shorten.
  CompileOptions options;
  options.fit_within = 1;
  Compilation one = compile({{kDesignCard, ""}}, options);
  ASSERT_EQ(one.ir.branches.size(), 1u);
  EXPECT_EQ(one.ir.branches[0].ip_version, 4);
  EXPECT_LT(one.program->instructions.size(), compile({{kDesignCard, ""}}, {}).program->instructions.size());
}

TEST(Compiler, LinkOffsetSkipsTheLinkHeader) {
  CompileOptions options;
  options.link.type = LinkType::Ethernet;
  Compilation c = compile({{kDesignCard, ""}}, options);
  ASSERT_TRUE(c.ok());
  auto frame = testing::ethernet_frame(testing::build_packet(linux_syn()), false);
  EXPECT_NE(testing::run_bpf(*c.program, frame), 0u);
}

}  // namespace
}  // namespace p0fbpf
