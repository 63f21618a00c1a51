#include "backend/classic/block_merge.hpp"

#include <gtest/gtest.h>

#include "pending_code_builder.hpp"

namespace p0fbpf {
namespace {

using testing::ja;
using testing::jeq;
using testing::plain;
using testing::ret;

PendingInstruction ld(std::uint32_t k) { return plain(BPF_LD | BPF_IMM, k); }

std::size_t instructions(const PendingCode& code) {
  std::size_t n = 0;
  for (const PendingInstruction& p : code) n += p.is_label() ? 0 : 1;
  return n;
}

bool has_label(const PendingCode& code, int label) {
  for (const PendingInstruction& p : code) {
    if (p.label_here() == label) return true;
  }
  return false;
}

TEST(BlockMerge, EarlierOfTwoEqualBlocksGoes) {
  PendingCode code = {jeq(1, 1, 2), label_marker(1), ld(5), ret(1), label_marker(2), ld(5), ret(1)};
  PendingCode merged = merge_identical_blocks(code);
  EXPECT_EQ(instructions(merged), 3u);
  EXPECT_FALSE(has_label(merged, 1));
  EXPECT_EQ(merged[0].true_label, 2);
  EXPECT_EQ(merged[0].false_label, 2);
}

TEST(BlockMerge, BlockEnteredByFallingThroughStays) {
  // The ld #9 falls into label 1's block.
  PendingCode code = {jeq(1, 1, 2), ld(9), label_marker(1), ld(5), ret(1), label_marker(2), ld(5), ret(1)};
  PendingCode merged = merge_identical_blocks(code);
  EXPECT_EQ(instructions(merged), 6u);
  EXPECT_EQ(merged[0].true_label, 1);
}

TEST(BlockMerge, DifferentJumpTargetsKeepBlocksApart) {
  PendingCode code = {jeq(1, 1, 2), label_marker(1), ld(5), ja(3), label_marker(2), ld(5), ja(4),
                      label_marker(3), ret(1), label_marker(4), ret(2)};
  EXPECT_EQ(instructions(merge_identical_blocks(code)), 7u);
}

// A load through X that reads behind the link shift (marked
// kXHoldsLinkShift for jump threading) and the same load through X holding
// another position read different bytes: their blocks stay apart.
TEST(BlockMerge, TheLinkShiftMarkKeepsBlocksApart) {
  PendingInstruction behind = plain(BPF_LD | BPF_B | BPF_IND, 14);
  behind.insn.jf = kXHoldsLinkShift;
  PendingInstruction other = plain(BPF_LD | BPF_B | BPF_IND, 14);
  PendingCode code = {jeq(1, 1, 2), label_marker(1), other, ret(1), label_marker(2), behind, ret(1)};
  EXPECT_EQ(instructions(merge_identical_blocks(code)), 5u);
  code[2] = behind;
  EXPECT_EQ(instructions(merge_identical_blocks(code)), 3u);
}

// Merging the two returns makes the blocks that jump to them equal.
TEST(BlockMerge, MergeThatMakesEarlierBlocksEqual) {
  PendingCode code = {jeq(1, 1, 2), label_marker(1), ld(3), ja(3), label_marker(2), ld(3), ja(4),
                      label_marker(3), ret(7), label_marker(4), ret(7)};
  PendingCode merged = merge_identical_blocks(code);
  EXPECT_EQ(instructions(merged), 4u);
  EXPECT_EQ(merged[0].true_label, 2);
  EXPECT_EQ(merged[0].false_label, 2);
  EXPECT_FALSE(has_label(merged, 1));
  EXPECT_FALSE(has_label(merged, 3));
}

// A block goes into the first later block equal to it when it is taken,
// before later merges make a nearer one equal (here the block at label 2,
// which stays because the ld #1 falls into it): the order the programs'
// bytes depend on.
TEST(BlockMerge, MergesIntoTheFirstLaterEqualBlockAtTheTime) {
  PendingCode code = {jeq(0, 1, 4), label_marker(1), ja(5),         ld(1),  label_marker(2), ja(4),
                      label_marker(3), ja(5),      label_marker(4), ret(5), label_marker(5), ret(5)};
  PendingCode merged = merge_identical_blocks(code);
  EXPECT_EQ(instructions(merged), 5u);
  EXPECT_EQ(merged[0].true_label, 3);
  EXPECT_EQ(merged[0].false_label, 5);
  EXPECT_TRUE(has_label(merged, 2));
}

TEST(BlockMerge, ManyEqualBlocksBecomeOne) {
  // A chain of 2,000 equal blocks, each reached from the conditional jump
  // before it: all but the last go.
  PendingCode code;
  for (int i = 0; i < 2000; ++i) {
    code.push_back(jeq(static_cast<std::uint32_t>(i), 2 * i, 2 * i + 1));
    code.push_back(label_marker(2 * i));
    code.push_back(ret(1));
    code.push_back(label_marker(2 * i + 1));
  }
  code.push_back(ret(0));
  PendingCode merged = merge_identical_blocks(code);
  EXPECT_EQ(instructions(merged), 2002u);
  for (const PendingInstruction& p : merged) {
    if (p.is_jump()) {
      EXPECT_EQ(p.true_label, 2 * 1999);
    }
  }
}

}  // namespace
}  // namespace p0fbpf
