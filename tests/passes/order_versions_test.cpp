#include "passes/order_versions.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "branch_labels.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

// A branch of `version` whose first check is byte 0 == first.
Branch branch(const std::string& label, int version, std::uint32_t first) {
  return {label, all({eq(load(Width::Byte, 0), first, "first"), eq(load(Width::Byte, 40), 2u, "option")}), version,
          0};
}

using testing::branch_labels;

// IPv4's branches start with three different checks, IPv6's with one: a
// packet of either version fails IPv6's one before trying IPv4's.
TEST(OrderVersions, TheVersionWithFewerFirstChecksGoesFirst) {
  Program p;
  p.branches = {branch("a4", 4, 0x45), branch("b6", 6, 0x60), branch("c4", 4, 0x46), branch("d6", 6, 0x60),
                branch("e4", 4, 0x47), branch("f4", 4, 0x45)};
  EXPECT_EQ(branch_labels(order_versions(p)), (std::vector<std::string>{"b6", "d6", "a4", "c4", "e4", "f4"}));
}

// On a tie the version of the first branch goes first, and each version's
// branches still follow one another (the version split needs two runs).
TEST(OrderVersions, ATieGoesByTheFirstBranch) {
  Program p;
  p.branches = {branch("a4", 4, 0x45), branch("b6", 6, 0x60), branch("c4", 4, 0x46), branch("d6", 6, 0x61)};
  EXPECT_EQ(branch_labels(order_versions(p)), (std::vector<std::string>{"a4", "c4", "b6", "d6"}));
  p.branches = {branch("a6", 6, 0x60), branch("b4", 4, 0x45), branch("c4", 4, 0x46), branch("d6", 6, 0x61)};
  EXPECT_EQ(branch_labels(order_versions(p)), (std::vector<std::string>{"a6", "d6", "b4", "c4"}));
  // Already apart: nothing moves.
  p.branches = {branch("a4", 4, 0x45), branch("b4", 4, 0x46), branch("c6", 6, 0x60), branch("d6", 6, 0x61)};
  EXPECT_TRUE(identical(order_versions(p), p));
}

// A branch for both versions may accept what the branches around it accept:
// none moves across it.
TEST(OrderVersions, ABranchForBothVersionsEndsARun) {
  Program p;
  p.branches = {branch("a4", 4, 0x45), branch("b4", 4, 0x46), branch("c6", 6, 0x60), branch("d", 0, 0x45),
                branch("e4", 4, 0x45), branch("f6", 6, 0x60), branch("g4", 4, 0x46)};
  EXPECT_EQ(branch_labels(order_versions(p)), (std::vector<std::string>{"c6", "a4", "b4", "d", "f6", "e4", "g4"}));
}

}  // namespace
}  // namespace p0fbpf
