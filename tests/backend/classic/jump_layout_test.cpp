#include "backend/classic/jump_layout.hpp"

#include <gtest/gtest.h>

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

// jeq at 0, `loads` instructions, ret #0 (the false target), ret #1 (the
// true target): the true target lies loads + 2 instructions past the next.
PendingCode true_target_past(int loads) {
  PendingCode code = {jeq(0, 1, 0), label(0)};
  add_loads(code, loads);
  code.push_back(plain(BPF_RET | BPF_K, 0));
  code.push_back(label(1));
  code.push_back(plain(BPF_RET | BPF_K, 1));
  return code;
}

TEST(JumpLayout, NearTargetsNeedNoUnconditionalJump) {
  BpfProgram p = lay_out_jumps(true_target_past(254));  // 255 ahead: the farthest jt reaches
  ASSERT_EQ(p.instructions.size(), 257u);
  expect_jump(p.instructions[0], 255, 0);
  EXPECT_EQ(run(p), 1u);
}

TEST(JumpLayout, FarTargetGoesThroughAnUnconditionalJump) {
  BpfProgram p = lay_out_jumps(true_target_past(255));  // 256 ahead
  ASSERT_EQ(p.instructions.size(), 259u);
  expect_jump(p.instructions[0], 0, 1);
  // The ja at 1 reaches the accepting return at 258.
  expect_ja(p.instructions[1], 256);
  EXPECT_EQ(p.comments[1], "(far jump)");
  EXPECT_EQ(run(p), 1u);
}

TEST(JumpLayout, BothTargetsFarGetAJumpEach) {
  PendingCode code = {jeq(0, 1, 2)};
  add_loads(code, 300);
  code.push_back(label(2));
  code.push_back(plain(BPF_RET | BPF_K, 2));
  code.push_back(label(1));
  code.push_back(plain(BPF_RET | BPF_K, 1));
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 305u);
  // jeq, the false target's ja, the true target's ja, 300 loads, ret #2 at
  // 303, ret #1 at 304.
  expect_jump(p.instructions[0], 1, 0);
  expect_ja(p.instructions[1], 301);
  expect_ja(p.instructions[2], 301);
  EXPECT_EQ(run(p), 1u);
}

// A ja inserted after the second conditional jump lengthens the first one's
// jump across it past 255.
TEST(JumpLayout, InsertedJumpPushesAnEarlierTargetOutOfReach) {
  PendingCode code = {jeq(0, 1, 10), label(10), jeq(9, 2, 11), label(11)};
  add_loads(code, 254);
  code.push_back(label(1));
  code.push_back(plain(BPF_RET | BPF_K, 1));
  code.push_back(plain(BPF_RET | BPF_K, 3));
  code.push_back(label(2));
  code.push_back(plain(BPF_RET | BPF_K, 2));
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 261u);
  expect_jump(p.instructions[0], 0, 1);
  expect_ja(p.instructions[1], 256);  // to ret #1 at 258
  expect_jump(p.instructions[2], 0, 1);
  expect_ja(p.instructions[3], 256);  // to ret #2 at 260
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

TEST(JumpLayout, JumpOffsetsCountInstructionsNotLabels) {
  PendingCode code = {jeq(0, 3, 1), label(1), plain(BPF_RET | BPF_K, 0), label(2), label(3),
                      plain(BPF_RET | BPF_K, 1)};
  BpfProgram p = lay_out_jumps(std::move(code));
  ASSERT_EQ(p.instructions.size(), 3u);
  expect_jump(p.instructions[0], 1, 0);
  EXPECT_EQ(run(p), 1u);
}

}  // namespace
}  // namespace p0fbpf
