#include "backend/classic/jump_layout.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "pending_code_builder.hpp"

namespace p0fbpf {
namespace {

PendingInstruction label(int id) { return label_marker(id); }

using testing::ja;
using testing::jeq;
using testing::plain;
using testing::ret;

void add_loads(PendingCode& code, int count) {
  for (int i = 0; i < count; ++i) code.push_back(plain(BPF_LD | BPF_IMM, 7));
}

// A target that is not a return: ld #k, ret a.
void add_load_and_return(PendingCode& code, std::uint32_t k) {
  code.push_back(plain(BPF_LD | BPF_IMM, k));
  code.push_back(plain(BPF_RET | BPF_A, 0));
}

std::uint32_t run(const BpfProgram& program) {
  std::uint8_t packet[1] = {0};
  return bpf_filter(program.instructions.data(), packet, 1, 1);
}

void expect_jump(const bpf_insn& insn, std::uint8_t jt, std::uint8_t jf) {
  EXPECT_EQ(BPF_CLASS(insn.code), BPF_JMP);
  EXPECT_NE(BPF_OP(insn.code), BPF_JA);
  EXPECT_EQ(int{insn.jt}, int{jt});
  EXPECT_EQ(int{insn.jf}, int{jf});
}

void expect_ja(const bpf_insn& insn, std::uint32_t k) {
  EXPECT_EQ(insn.code, BPF_JMP | BPF_JA);
  EXPECT_EQ(insn.k, k);
}

// jeq at 0, `loads` instructions, ret #0 (the false target), then the true
// target: ld #1, ret a (or with `return_target`, ret #1 alone). The true
// target lies loads + 2 instructions past the next.
PendingCode true_target_past(int loads, bool return_target = false) {
  PendingCode code = {jeq(0, 1, 0), label(0)};
  add_loads(code, loads);
  code.push_back(plain(BPF_RET | BPF_K, 0));
  code.push_back(label(1));
  if (return_target) {
    code.push_back(plain(BPF_RET | BPF_K, 1));
  } else {
    add_load_and_return(code, 1);
  }
  return code;
}

// A label marker carries its label where an instruction has its constant:
// `ld #3` beside the marker of label 3 stays an instruction, and the marker
// none.
TEST(JumpLayout, LabelMarkersAreNoInstructions) {
  PendingCode code = {plain(BPF_LD | BPF_IMM, 3), ja(3), label(3), plain(BPF_RET | BPF_A, 0)};
  EXPECT_FALSE(code[0].is_label());
  EXPECT_EQ(code[0].label_here(), -1);
  EXPECT_TRUE(code[2].is_label());
  EXPECT_FALSE(code[2].is_jump());
  EXPECT_FALSE(code[2].ends_block());
  EXPECT_EQ(code[2].label_here(), 3);
  EXPECT_EQ(label_count(code), 4);
  EXPECT_EQ(label_positions(code, 99), (std::vector<std::size_t>{99, 99, 99, 2}));
  BpfProgram program = lay_out_jumps(code);
  ASSERT_EQ(program.instructions.size(), 2u);  // the jump to the next instruction goes
  EXPECT_EQ(run(program), 3u);
}

TEST(JumpLayout, NearTargetsNeedNoUnconditionalJump) {
  BpfProgram p = lay_out_jumps(true_target_past(254));  // 255 ahead: the farthest jt reaches
  ASSERT_EQ(p.instructions.size(), 258u);
  expect_jump(p.instructions[0], 255, 0);
  EXPECT_EQ(run(p), 1u);
}

TEST(JumpLayout, FarTargetGoesThroughAnUnconditionalJump) {
  BpfProgram p = lay_out_jumps(true_target_past(255));  // 256 ahead
  ASSERT_EQ(p.instructions.size(), 260u);
  expect_jump(p.instructions[0], 0, 1);
  // The ja at 1 reaches the true target's load at 258.
  expect_ja(p.instructions[1], 256);
  EXPECT_EQ(p.comments[1], "(far jump)");
  EXPECT_EQ(run(p), 1u);
}

// A far jump to a return is that return: as many instructions, one fewer
// executed.
TEST(JumpLayout, FarJumpToAReturnIsACopyOfIt) {
  static const std::string accept = "accept";
  PendingCode code = true_target_past(255, true);
  code.back().comment = &accept;
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 259u);
  expect_jump(p.instructions[0], 0, 1);
  EXPECT_EQ(p.instructions[1].code, BPF_RET | BPF_K);
  EXPECT_EQ(p.instructions[1].k, 1u);
  EXPECT_EQ(p.comments[1], "accept");
  EXPECT_EQ(run(p), 1u);
}

TEST(JumpLayout, BothTargetsFarGetAJumpEach) {
  PendingCode code = {jeq(0, 1, 2)};
  add_loads(code, 300);
  code.push_back(label(2));
  add_load_and_return(code, 2);
  code.push_back(label(1));
  add_load_and_return(code, 1);
  EXPECT_EQ(most_laid_out_size(code), 307u);  // the bound counts both far jumps
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 307u);
  // jeq, the false target's ja, the true target's ja, 300 loads, ld #2 and
  // ret at 303, ld #1 and ret at 305.
  expect_jump(p.instructions[0], 1, 0);
  expect_ja(p.instructions[1], 301);
  expect_ja(p.instructions[2], 302);
  EXPECT_EQ(run(p), 1u);
}

// An unconditional jump that lands on another goes straight to where that
// one leads: here to a return, which it copies.
TEST(JumpLayout, JumpsToJumpsGoStraightToTheEnd) {
  PendingCode code = {jeq(0, 1, 2), label(2), ja(3), label(1), ja(4)};
  add_loads(code, 10);
  code.push_back(label(4));
  code.push_back(ja(5));
  code.push_back(label(3));
  add_load_and_return(code, 3);
  code.push_back(label(5));
  code.push_back(plain(BPF_RET | BPF_K, 1));
  BpfProgram p = lay_out_jumps(std::move(code));
  // jeq, ja (to ld #3), ret #1 (for ja 4, ja 5), 10 loads, ret #1 (for
  // ja 5), ld #3, ret a, ret #1.
  ASSERT_EQ(p.instructions.size(), 17u);
  expect_jump(p.instructions[0], 1, 0);
  expect_ja(p.instructions[1], 12);
  EXPECT_EQ(p.instructions[2].code, BPF_RET | BPF_K);
  EXPECT_EQ(p.instructions[2].k, 1u);
  EXPECT_EQ(p.instructions[13].code, BPF_RET | BPF_K);
  EXPECT_EQ(run(p), 1u);
}

// A ja inserted after the second conditional jump lengthens the first one's
// jump across it past 255.
TEST(JumpLayout, InsertedJumpPushesAnEarlierTargetOutOfReach) {
  PendingCode code = {jeq(0, 1, 10), label(10), jeq(9, 2, 11), label(11)};
  add_loads(code, 254);
  code.push_back(label(1));
  add_load_and_return(code, 1);
  code.push_back(label(2));
  code.push_back(plain(BPF_RET | BPF_K, 2));
  // The first jeq's target is 255 instructions ahead only if the second one
  // gets no far jump: the bound counts it, a far jump for each jeq.
  EXPECT_EQ(most_laid_out_size(code), 261u);
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 261u);
  expect_jump(p.instructions[0], 0, 1);
  expect_ja(p.instructions[1], 256);  // to ld #1 at 258
  expect_jump(p.instructions[2], 0, 1);
  EXPECT_EQ(p.instructions[3].code, BPF_RET | BPF_K);  // ret #2, copied
  EXPECT_EQ(p.instructions[3].k, 2u);
  EXPECT_EQ(p.instructions[258].k, 1u);
  EXPECT_EQ(run(p), 1u);
}

TEST(JumpLayout, JumpToTheNextInstructionIsDropped) {
  PendingCode code = {ja(0), label(0), plain(BPF_RET | BPF_K, 5)};
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 1u);
  EXPECT_EQ(p.instructions[0].code, BPF_RET | BPF_K);
}

// Dropping the second ja leaves the first one pointing at the next
// instruction: it goes too.
TEST(JumpLayout, DroppedJumpsCascade) {
  PendingCode code = {ja(0), ja(1), label(1), label(0), plain(BPF_RET | BPF_K, 5)};
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 1u);
  EXPECT_EQ(p.instructions[0].k, 5u);
}

// The cascade goes back past what is no instruction: label markers, and
// the far jump slots of a conditional jump that needs none.
TEST(JumpLayout, DroppedJumpsCascadePastLabelsAndFarJumpSlots) {
  PendingCode code = {jeq(0, 1, 2), label(1), ja(3),          label(7), label(8), ja(4), label(4),
                      label(3),     ja(5),    label(5),       label(2), plain(BPF_RET | BPF_K, 5)};
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 2u);
  expect_jump(p.instructions[0], 0, 0);
  EXPECT_EQ(p.instructions[1].k, 5u);
}

TEST(JumpLayout, JumpOffsetsCountInstructionsNotLabels) {
  PendingCode code = {jeq(0, 3, 1), label(1), plain(BPF_RET | BPF_K, 0), label(2), label(3),
                      plain(BPF_RET | BPF_K, 1)};
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 3u);
  expect_jump(p.instructions[0], 1, 0);
  EXPECT_EQ(run(p), 1u);
}

// The bound counts a far jump only for a target that some layout could
// put out of reach: none at 255 ahead, one at 256.
TEST(MostLaidOutSize, CountsAFarJumpOnlyWhereATargetMayBeOutOfReach) {
  EXPECT_EQ(most_laid_out_size(true_target_past(254)), 258u);
  EXPECT_EQ(lay_out_jumps(true_target_past(254)).instructions.size(), 258u);
  EXPECT_EQ(most_laid_out_size(true_target_past(255)), 260u);
  EXPECT_EQ(lay_out_jumps(true_target_past(255)).instructions.size(), 260u);
}


// Random codes of conditional jumps, ja and loads over forward labels, with
// targets near the reach: no layout is longer than the bound.
TEST(MostLaidOutSize, NoLayoutIsLongerThanTheBound) {
  std::mt19937 random(20261207);
  std::size_t tight = 0;
  for (int round = 0; round < 200; ++round) {
    const int blocks = 40;
    PendingCode code;
    for (int b = 0; b < blocks; ++b) {
      code.push_back(label(b));
      int span = std::uniform_int_distribution<int>(1, 8)(random);
      auto target = [&] { return std::min(blocks, b + std::uniform_int_distribution<int>(1, span)(random)); };
      int loads = std::uniform_int_distribution<int>(0, 60)(random);
      add_loads(code, loads);
      switch (std::uniform_int_distribution<int>(0, 2)(random)) {
        case 0: code.push_back(jeq(static_cast<std::uint32_t>(b), target(), target())); break;
        case 1: code.push_back(ja(target())); break;
        default: break;
      }
    }
    code.push_back(label(blocks));
    code.push_back(plain(BPF_RET | BPF_K, 1));
    std::size_t bound = most_laid_out_size(code);
    std::size_t size = lay_out_jumps(std::move(code)).instructions.size();
    ASSERT_LE(size, bound) << "round " << round;
    if (size == bound) ++tight;
  }
  EXPECT_GT(tight, 0u);  // the rounds reach the bound, not only stay under it
}

}  // namespace
}  // namespace p0fbpf
