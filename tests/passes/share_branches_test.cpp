#include "passes/share_branches.hpp"

#include <gtest/gtest.h>

#include "bpf_run.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

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
    options.verify_each_pass = true;
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
        if (testing::run_bpf(alone, bytes)) {
          EXPECT_NE(testing::run_bpf(both, bytes), 0u) << source.text;
        }
      }
    }
  }
}

// A size target (docs/benchmarks.md, "Program size and speed"): with one branch for both
// IP versions as well, the two signatures of `s:unix:Linux:3.11 and newer` fit
// one xt_bpf program (64 instructions), which accepts what either accepts.
TEST(ShareBranches, LinuxLabelFitsOneRuleForBothVersions) {
  const std::vector<SignatureSource> label = {{"*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0", ""},
                                              {"*:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0", ""}};
  CompileOptions options;
  options.verify_each_pass = true;
  options.fit_within = 64;
  BpfProgram both = *compile(label, options).program;
  EXPECT_LE(both.instructions.size(), 64u);
  std::vector<BpfProgram> alone;
  for (const auto& source : label) alone.push_back(*compile({source}, {}).program);
  testing::Random rng(6);
  std::size_t accepted = 0;
  for (int i = 0; i < 400; ++i) {
    Signature sig = *parse_signature(label[i % 2].text);
    testing::PacketSpec p = testing::matching_packet(sig, i % 4 >= 2, false, rng);
    if (i % 3) p = testing::mutate(p, rng);
    auto bytes = testing::build_packet(p);
    bool either = testing::run_bpf(alone[0], bytes) != 0 || testing::run_bpf(alone[1], bytes) != 0;
    ASSERT_EQ(testing::run_bpf(both, bytes) != 0, either) << i;
    accepted += either;
  }
  EXPECT_GT(accepted, 50u);
}

}  // namespace
}  // namespace p0fbpf
