#include "passes/widen_masks.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "branch_labels.hpp"
#include "ir/evaluate.hpp"

namespace p0fbpf {
namespace {

using namespace ir;
using testing::branch_labels;

// A branch of `version` whose first check is (word at 0 & mask) == value,
// then byte 40 == 2.
Branch branch(const std::string& label, int version, std::uint32_t mask, std::uint32_t value) {
  return {label, all({eq(bit_and(load(Width::Word, 0), mask), value, "first"), eq(load(Width::Byte, 40), 2, "option")}),
          version, 0};
}

// The first check of each branch as "mask value", in hex.
std::vector<std::string> first_checks(const Program& program) {
  std::vector<std::string> out;
  for (const Branch& b : program.branches) {
    ConditionPtr first = conjuncts(b.condition).front();
    out.push_back(fmt::format("{:x} {:x}", first->lhs->rhs->constant, first->rhs->constant));
  }
  return out;
}

TEST(WidenMasks, AnEcnSignatureBecomesABranchPerValueOfItsEcnBits) {
  // IPv4's first word: version, header length, the TOS's ECN bits and the
  // total length; the `ecn` signature (b) leaves the ECN bits out.
  Program p;
  p.branches = {branch("a", 4, 0xff03ffff, 0x4500003c), branch("b", 4, 0xff00ffff, 0x45000034),
                branch("c", 4, 0xff03ffff, 0x45000030)};
  Program widened = widen_first_masks(p);
  EXPECT_EQ(branch_labels(widened), (std::vector<std::string>{"a", "b", "b", "b", "b", "c"}));
  EXPECT_EQ(first_checks(widened),
            (std::vector<std::string>{"ff03ffff 4500003c", "ff03ffff 45000034", "ff03ffff 45010034",
                                      "ff03ffff 45020034", "ff03ffff 45030034", "ff03ffff 45000030"}));
  // The rest of each copy is the branch's.
  for (std::size_t i = 1; i <= 4; ++i) {
    EXPECT_TRUE(same_check(conjuncts(widened.branches[i].condition)[1], conjuncts(p.branches[1].condition)[1]));
  }
}

// Each packet meets the same first accepting branch (by label) and verdict,
// whatever its ECN bits and total length.
TEST(WidenMasks, EveryPacketKeepsItsVerdictAndBranch) {
  Program p;
  p.branches = {branch("a", 4, 0xff03ffff, 0x4500003c), branch("b", 4, 0xff00ffff, 0x45000034),
                branch("c", 4, 0xff03ffff, 0x45000034)};
  Program widened = widen_first_masks(p);
  ASSERT_EQ(widened.branches.size(), 6u);
  std::size_t accepted = 0;
  for (std::uint32_t tos = 0; tos < 8; ++tos) {
    for (std::uint32_t length : {0x30u, 0x34u, 0x3cu}) {
      std::vector<std::uint8_t> packet(60, 0);
      packet[0] = 0x45;
      packet[1] = static_cast<std::uint8_t>(tos);
      packet[3] = static_cast<std::uint8_t>(length);
      packet[40] = 2;
      Verdict before = evaluate(p, packet);
      Verdict after = evaluate(widened, packet);
      EXPECT_EQ(before.accepted, after.accepted) << "tos " << tos << ", length " << length;
      ASSERT_EQ(before.branch.has_value(), after.branch.has_value());
      if (before.branch) {
        ++accepted;
        EXPECT_EQ(p.branches[*before.branch].label, widened.branches[*after.branch].label)
            << "tos " << tos << ", length " << length;
      }
    }
  }
  // a for the two TOS values without ECN bits, b for all eight; c accepts
  // nothing b has not accepted first.
  EXPECT_EQ(accepted, 10u);
}

// Where the run's checks compare the whole load, the copies do too, and
// so are the same checks as theirs.
TEST(WidenMasks, AWholeLoadStaysBare) {
  Program p;
  // (At offset 2: a run of half-words at 0 would read the word first.)
  p.branches = {{"a", all({eq(load(Width::Half, 2), 0x4500, "first")}), 4, 0},
                {"b", all({eq(load(Width::Half, 2), 0x4510, "first")}), 4, 0},
                {"c", all({eq(bit_and(load(Width::Half, 2), 0xfffc), 0x4500, "first")}), 4, 0}};
  Program widened = widen_first_masks(p);
  ASSERT_EQ(widened.branches.size(), 6u);
  for (std::size_t i = 2; i < 6; ++i) {
    ConditionPtr first = conjuncts(widened.branches[i].condition).front();
    EXPECT_EQ(first->lhs->kind, Value::Kind::Load) << i;
  }
  EXPECT_TRUE(same_check(conjuncts(widened.branches[2].condition).front(), conjuncts(p.branches[0].condition).front()));
}

TEST(WidenMasks, WhereNothingWidens) {
  // More than two bits left out (c, d), a mask that is no subset though two
  // bits short (e), another load (f).
  Program p;
  p.branches = {branch("a", 4, 0xff03ffff, 0x4500003c), branch("b", 4, 0xff03ffff, 0x45000034),
                branch("c", 4, 0xf000ffff, 0x40000034), branch("d", 4, 0xff00fff0, 0x45000030),
                branch("e", 4, 0xff0cffff, 0x45000034),
                {"f", all({eq(bit_and(load(Width::Word, 4), 0xff00ffff), 1, "other")}), 4, 0}};
  EXPECT_TRUE(identical(widen_first_masks(p), p));
  // A value with bits outside its own mask never holds: left alone.
  Program never_holds;
  never_holds.branches = {branch("a", 4, 0xff03ffff, 0x4500003c), branch("b", 4, 0xff00ffff, 0x45010034)};
  EXPECT_TRUE(identical(widen_first_masks(never_holds), never_holds));
}

// A run whose first checks all read the byte or half-word at 0 reads the
// word there, the same bits; a run of mixed first checks stays.
TEST(WidenMasks, NarrowFirstChecksAtTheStartReadTheWord) {
  auto narrow = [](const std::string& label, Width width, std::uint32_t mask, std::uint32_t value) {
    return Branch{label, all({eq(bit_and(load(width, 0), mask), value, "ver"), eq(load(Width::Byte, 40), 2, "o")}), 6,
                  0};
  };
  Program p;
  p.branches = {narrow("a", Width::Byte, 0xf0, 0x60), narrow("b", Width::Half, 0xffff, 0x6000)};
  Program words = widen_first_masks(p);
  EXPECT_EQ(first_checks(words), (std::vector<std::string>{"f0000000 60000000", "ffff0000 60000000"}));
  for (const Branch& b : words.branches) {
    EXPECT_EQ(conjuncts(b.condition).front()->lhs->lhs->width, Width::Word);
    EXPECT_EQ(conjuncts(b.condition).front()->field, "ver");
  }
  Program mixed = p;
  mixed.branches.push_back(branch("c", 6, 0xf03fffff, 0x60000000));
  EXPECT_TRUE(identical(widen_first_masks(mixed), mixed));
}

// Each run of one IP version has its own mask: an IPv6 branch is not
// widened to IPv4's, nor across a run of the other version.
TEST(WidenMasks, EachRunHasItsOwnMask) {
  Program p;
  p.branches = {branch("a4", 4, 0xff03ffff, 0x4500003c), branch("b4", 4, 0xff03ffff, 0x45000034),
                branch("c6", 6, 0xff00ffff, 0x45000034), branch("d4", 4, 0xff00ffff, 0x45000034)};
  Program widened = widen_first_masks(p);
  // d4 is a run of its own: its mask is the run's.
  EXPECT_TRUE(identical(widened, p));
  p.branches[2].ip_version = 4;
  EXPECT_EQ(branch_labels(widen_first_masks(p)),
            (std::vector<std::string>{"a4", "b4", "c6", "c6", "c6", "c6", "d4", "d4", "d4", "d4"}));
}

}  // namespace
}  // namespace p0fbpf
