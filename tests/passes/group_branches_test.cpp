#include "passes/group_branches.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "bpf_run.hpp"
#include "branch_labels.hpp"
#include "database_file.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "test_seed.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

// A branch of `version` that checks the word at 0 == first, then byte 40 ==
// second.
Branch branch(const std::string& label, int version, std::uint32_t first, std::uint32_t second) {
  return {label, all({eq(load(Width::Word, 0), first, "first"), eq(load(Width::Byte, 40), second, "option")}),
          version, 0};
}

using testing::branch_labels;

TEST(GroupBranches, BranchesThatStartAlikeBecomeNeighbours) {
  Program p;
  p.branches = {branch("a", 4, 0x4500003c, 2), branch("b", 4, 0x45000034, 2), branch("c", 4, 0x4500003c, 1),
                branch("d", 4, 0x45000034, 2)};
  // By the first check, then the second; equal branches (b, d) in order.
  EXPECT_EQ(branch_labels(group_branches(p)), (std::vector<std::string>{"b", "d", "c", "a"}));
}

// Constants sort by their number, not their text: the ranges a database's
// TTL windows make over one word follow one another.
TEST(GroupBranches, ConstantsSortByNumber) {
  Program p;
  p.branches = {branch("a", 6, 0x100, 1), branch("b", 6, 0x20, 1), branch("c", 6, 0x3, 1)};
  EXPECT_EQ(branch_labels(group_branches(p)), (std::vector<std::string>{"c", "b", "a"}));
}

// Branches move within their run of one IP version and framing only: the
// order order-versions chose between the versions stays.
TEST(GroupBranches, BranchesStayInTheirRun) {
  Program p;
  p.branches = {branch("a6", 6, 2, 1), branch("b6", 6, 1, 1), branch("c4", 4, 0, 1), branch("d4", 4, 3, 1),
                branch("e4", 4, 1, 1), branch("f", 0, 0, 1), branch("g4", 4, 2, 1), branch("h4", 4, 1, 1)};
  p.branches[3].link_offset = 14;
  EXPECT_EQ(branch_labels(group_branches(p)), (std::vector<std::string>{"b6", "a6", "c4", "d4", "e4", "f", "h4", "g4"}));
  Program sorted;
  sorted.branches = {branch("a", 4, 1, 1), branch("b", 4, 2, 1)};
  EXPECT_TRUE(identical(group_branches(sorted), sorted));
}

// With a verdict per signature, the first accepting branch's, a branch
// stays after an earlier one of another signature that accepts some packet
// it accepts: here a (byte 40 >= 1) and c (byte 40 == 1) both accept a
// packet whose byte 40 is 1. d, whose first word tells it from both, moves
// to the front as it does without verdicts.
TEST(GroupBranches, AVerdictPerSignatureKeepsOverlappingBranchesInOrder) {
  auto made = [](const std::string& label, std::uint32_t first, ConditionPtr second, std::uint32_t signature) {
    Branch b{label, all({eq(load(Width::Word, 0), first, "first"), std::move(second)}), 4, 0};
    b.signature = signature;
    return b;
  };
  Program p;
  p.branches = {made("a", 2, ge(load(Width::Byte, 40), 1, "option"), 0),
                made("c", 2, eq(load(Width::Byte, 40), 1, "option"), 1),
                made("d", 1, eq(load(Width::Byte, 40), 1, "option"), 2)};
  // Without verdicts: by the first word, then Equal before GreaterEqual.
  EXPECT_EQ(branch_labels(group_branches(p)), (std::vector<std::string>{"d", "c", "a"}));
  EXPECT_EQ(branch_labels(group_branches(p, true)), (std::vector<std::string>{"d", "a", "c"}));
  // Branches of one signature give the same verdict in either order.
  p.branches[1].signature = 0;
  EXPECT_EQ(branch_labels(group_branches(p, true)), (std::vector<std::string>{"d", "c", "a"}));
}

// Two branches that compare one value with different constants accept no
// packet in common and move past each other, but not where the value
// depends on a variable, which each branch assigns for itself: here each
// reads byte 13 of a TCP header it places elsewhere, so that one packet may
// pass all three.
TEST(GroupBranches, AVerdictPerSignatureMovesDisjointBranchesOnly) {
  Program p;
  p.branches = {branch("a", 4, 3, 1), branch("b", 4, 2, 1), branch("c", 4, 1, 1)};
  for (std::uint32_t i = 0; i < 3; ++i) p.branches[i].signature = i;
  EXPECT_EQ(branch_labels(group_branches(p, true)), (std::vector<std::string>{"c", "b", "a"}));
  ValuePtr at = variable("tcp");
  for (std::uint32_t i = 0; i < 3; ++i) {
    p.branches[i].condition = all({assign(at, constant(22 - i), "position"),
                                   eq(load(Width::Byte, 13, at), 3 - i, "flags")});
  }
  EXPECT_EQ(branch_labels(group_branches(p, true)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(branch_labels(group_branches(p)), (std::vector<std::string>{"c", "b", "a"}));
}

// Every label of a database and its whole [tcp:request] section, compiled
// with its branches grouped, with and without a verdict per signature, and
// at -O0, which keeps the selection's order and moves no branch: on packets
// of the label's signatures, near misses and random SYNs, all three accept
// the same packets, and both programs with a verdict per signature return
// the same signature.
void compare_database(const std::string& path) {
  std::optional<DatabaseResult> read = testing::read_database_file(path);
  P0FBPF_REQUIRE(read, path + " missing (apt-get install p0f)");
  ASSERT_TRUE(read->ok());
  std::vector<DatabaseLabel> labels = read->database.labels;
  DatabaseLabel requests{"every [tcp:request] signature", Direction::Request, {}};
  for (const DatabaseLabel& label : read->database.labels) {
    if (label.direction == Direction::Request) {
      requests.signatures.insert(requests.signatures.end(), label.signatures.begin(), label.signatures.end());
    }
  }
  labels.push_back(requests);
  testing::Random rng(2222);
  std::size_t programs = 0, grouped = 0, grouped_per_signature = 0, packets = 0, accepted = 0;
  for (const DatabaseLabel& label : labels) {
    if (label.signatures.empty()) continue;
    std::vector<Signature> signatures;
    for (const SignatureSource& source : label.signatures) signatures.push_back(*parse_signature(source.text));
    auto made = testing::packets_around(signatures, label.direction == Direction::Response, 4, rng);
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      for (LinkType link : {LinkType::Raw, LinkType::Ethernet}) {
        CompileOptions options;
        options.mode = mode;
        options.link.type = link;
        options.direction = label.direction;
        options.fit_within = 4096;
        bool changed = false;
        options.observe_passes = [&](const PassReport& report) {
          changed = changed || (report.pass == "group-branches" && report.changed);
        };
        Compilation with_groups = compile(label.signatures, options);
        ++programs;
        grouped += changed;
        changed = false;
        options.verdict_per_signature = true;
        Compilation per_signature = compile(label.signatures, options);
        grouped_per_signature += changed;
        options.observe_passes = nullptr;
        options.optimize = false;
        Compilation in_order = compile(label.signatures, options);
        ASSERT_TRUE(with_groups.ok() && per_signature.ok() && in_order.ok()) << label.text;
        for (const auto& [ip, v6] : made) {
          std::vector<std::uint8_t> packet = link == LinkType::Raw ? ip : testing::ethernet_frame(ip, v6);
          std::uint32_t expected = testing::run_bpf(*in_order.program, packet);
          ASSERT_EQ(testing::run_bpf(*with_groups.program, packet) != 0, expected != 0)
              << label.text << ", mode " << static_cast<int>(mode) << ", link " << static_cast<int>(link);
          ASSERT_EQ(testing::run_bpf(*per_signature.program, packet), expected)
              << label.text << ", a verdict per signature, mode " << static_cast<int>(mode) << ", link "
              << static_cast<int>(link) << ": " << testing::hex(packet);
          ++packets;
          accepted += expected != 0;
        }
      }
    }
  }
  std::printf("%s: %zu programs, %zu with branches grouped, %zu with a verdict per signature; %zu verdicts "
              "compared, %zu accepted\n",
              path.c_str(), programs, grouped, grouped_per_signature, packets, accepted);
  EXPECT_GE(grouped, 10u);
  // Branches of different signatures move only where they are disjoint:
  // fewer programs change, but at least half as many.
  EXPECT_GE(grouped_per_signature, grouped / 2);
  EXPECT_GT(accepted, packets / 10);
}

TEST(GroupBranchesEquivalence, EveryLabelOfP0fFp) { compare_database("/etc/p0f/p0f.fp"); }

TEST(GroupBranchesEquivalence, EveryLabelOfTheBundledDatabase) {
  compare_database(std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp");
}

}  // namespace
}  // namespace p0fbpf
