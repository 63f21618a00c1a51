#include "backend/classic/codegen.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

#include "p0fbpf/compiler.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

Program one_branch(ConditionPtr condition) {
  Program program;
  program.branches.push_back({"test", std::move(condition)});
  return program;
}

std::uint32_t run(const BpfProgram& program, std::vector<std::uint8_t> packet) {
  auto size = static_cast<unsigned>(packet.size());
  return bpf_filter(program.instructions.data(), packet.data(), size, size);
}

bpf_insn insn(std::uint16_t code, std::uint8_t jt, std::uint8_t jf, std::uint32_t k) {
  bpf_insn i{};
  i.code = code;
  i.jt = jt;
  i.jf = jf;
  i.k = k;
  return i;
}

void expect_code(const BpfProgram& program, const std::vector<bpf_insn>& expected) {
  ASSERT_EQ(program.instructions.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const bpf_insn& a = program.instructions[i];
    const bpf_insn& b = expected[i];
    EXPECT_TRUE(a.code == b.code && a.jt == b.jt && a.jf == b.jf && a.k == b.k)
        << "instruction " << i << ": got " << a.code << " " << int{a.jt} << " " << int{a.jf} << " " << a.k
        << ", want " << b.code << " " << int{b.jt} << " " << int{b.jf} << " " << b.k;
  }
}

TEST(Codegen, OneCompare) {
  BpfProgram p = generate(one_branch(eq(load(Width::Byte, 9), 6u, "proto")), {});
  expect_code(p, {insn(BPF_LD | BPF_B | BPF_ABS, 0, 0, 9), insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 6),
                  insn(BPF_RET | BPF_K, 0, 0, 0), insn(BPF_RET | BPF_K, 0, 0, kAcceptWholePacket)});
  EXPECT_EQ(p.comments[0], "proto");
  EXPECT_EQ(p.comments[2], "reject");
  EXPECT_EQ(p.comments[3], "accept");
}

TEST(Codegen, LinkOffsetMovesEveryPacketLoad) {
  ConditionPtr c = all({eq(frame_load(Width::Half, 12), 0x800u, "ethertype"), eq(load(Width::Byte, 9), 6u, "proto"),
                        eq(load(Width::Half, 14, ip_header_length()), 80u, "port")});
  Program program = one_branch(c);
  program.branches[0].link_offset = 14;
  BpfProgram p = generate(program, {});
  expect_code(p, {insn(BPF_LD | BPF_H | BPF_ABS, 0, 0, 12), insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0x800),
                  insn(BPF_LD | BPF_B | BPF_ABS, 0, 0, 23), insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 6),
                  insn(BPF_LDX | BPF_B | BPF_MSH, 0, 0, 14), insn(BPF_LD | BPF_H | BPF_IND, 0, 0, 28),
                  insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 80), insn(BPF_RET | BPF_K, 0, 0, 0),
                  insn(BPF_RET | BPF_K, 0, 0, kAcceptWholePacket)});
}

TEST(Codegen, ReusesTheAccumulator) {
  ValuePtr ttl = load(Width::Byte, 8);
  BpfProgram p = generate(one_branch(all({le(ttl, 64u, "ttl"), ge(ttl, 29u, "ttl")})), {});
  expect_code(p, {insn(BPF_LD | BPF_B | BPF_ABS, 0, 0, 8), insn(BPF_JMP | BPF_JGT | BPF_K, 1, 0, 64),
                  insn(BPF_JMP | BPF_JGE | BPF_K, 1, 0, 29), insn(BPF_RET | BPF_K, 0, 0, 0),
                  insn(BPF_RET | BPF_K, 0, 0, kAcceptWholePacket)});
}

TEST(Codegen, NegateSwapsTheVerdicts) {
  CodegenOptions options;
  options.negate = true;
  BpfProgram p = generate(one_branch(eq(load(Width::Byte, 0), 0x45u, "ver")), options);
  EXPECT_EQ(run(p, {0x45}), 0u);
  EXPECT_EQ(run(p, {0x46}), kAcceptWholePacket);
}

TEST(Codegen, NoBranchesRejectsEverything) {
  BpfProgram p = generate(Program{}, {});
  expect_code(p, {insn(BPF_RET | BPF_K, 0, 0, 0)});
  CodegenOptions options;
  options.negate = true;
  expect_code(generate(Program{}, options), {insn(BPF_RET | BPF_K, 0, 0, kAcceptWholePacket)});
}

TEST(Codegen, BranchesAreAlternatives) {
  Program program;
  program.branches.push_back({"a", eq(load(Width::Byte, 0), 1u, "a")});
  program.branches.push_back({"b", eq(load(Width::Byte, 1), 2u, "b")});
  BpfProgram p = generate(program, {});
  EXPECT_NE(run(p, {1, 0}), 0u);
  EXPECT_NE(run(p, {0, 2}), 0u);
  EXPECT_EQ(run(p, {0, 0}), 0u);
}

TEST(Codegen, SelectPicksAnArm) {
  ConditionPtr c = select(eq(load(Width::Byte, 0), 1u, "t"), eq(load(Width::Byte, 1), 2u, "a"),
                          eq(load(Width::Byte, 2), 3u, "b"));
  BpfProgram p = generate(one_branch(c), {});
  EXPECT_NE(run(p, {1, 2, 0}), 0u);
  EXPECT_EQ(run(p, {1, 0, 3}), 0u);
  EXPECT_NE(run(p, {0, 0, 3}), 0u);
  EXPECT_EQ(run(p, {0, 2, 0}), 0u);
}

TEST(Codegen, ComparesTwoComputedValues) {
  // byte0 * 2 == byte1 + byte2, with the right side parked in scratch memory
  // when both sides need the registers.
  ValuePtr lhs = binary(BinaryOp::Mul, load(Width::Byte, 0), constant(2));
  ValuePtr rhs = binary(BinaryOp::Add, load(Width::Byte, 1), load(Width::Byte, 2));
  BpfProgram p = generate(one_branch(eq(lhs, rhs, "sum")), {});
  EXPECT_NE(run(p, {5, 3, 7}), 0u);
  EXPECT_EQ(run(p, {5, 3, 8}), 0u);
  EXPECT_TRUE(is_valid(p));
}

TEST(Codegen, IndexedChainsOfPositions) {
  // A variable-length item at byte 0 (its length at byte 1), then a kind
  // byte after it, then another one: positions computed from packet bytes.
  ValuePtr second = add(constant(0), load(Width::Byte, 1));
  ValuePtr third = add(second, load(Width::Byte, 1, second));
  ConditionPtr c = all({eq(load(Width::Byte, 0, second), 7u, "second kind"),
                        eq(load(Width::Byte, 0, third), 9u, "third kind"),
                        eq(load(Width::Byte, 1, second), 3u, "second length")});
  BpfProgram p = generate(one_branch(c), {});
  EXPECT_NE(run(p, {5, 4, 0, 0, 7, 3, 0, 9}), 0u);
  EXPECT_EQ(run(p, {5, 4, 0, 0, 7, 3, 0, 8}), 0u);
  EXPECT_NE(run(p, {5, 2, 7, 3, 0, 9}), 0u);
  EXPECT_TRUE(is_valid(p));
}

TEST(Codegen, FarReturnsAreCopied) {
  // Many branches: the early ones jump to accept across more than 255
  // instructions.
  Program program;
  for (std::uint32_t i = 0; i < 150; ++i) {
    program.branches.push_back({"b", all({eq(load(Width::Byte, 0), i, "x"), eq(load(Width::Byte, 1), i, "y")})});
  }
  BpfProgram p = generate(program, {});
  EXPECT_GT(p.instructions.size(), 300u);
  EXPECT_TRUE(is_valid(p));
  EXPECT_NE(run(p, {0, 0}), 0u);
  EXPECT_NE(run(p, {149, 149}), 0u);
  EXPECT_EQ(run(p, {149, 148}), 0u);
  // The accepting return lies out of the early branches' reach: they reach
  // it through unconditional jumps, which are copies of it.
  std::size_t accepts = 0;
  for (const auto& i : p.instructions) accepts += i.code == (BPF_RET | BPF_K) && i.k != 0 ? 1 : 0;
  EXPECT_GT(accepts, 1u);
}

// lhs is read through one position, rhs is another position that X holds
// beforehand: computing lhs takes X, and rhs must not then be recomputed
// through A, which holds lhs.
TEST(Codegen, OperandInXSurvivesAnIndexedLhs) {
  ValuePtr first = add(load(Width::Byte, 0), 2);   // byte 0 + 2
  ValuePtr second = add(load(Width::Byte, 1), 2);  // byte 1 + 2
  ConditionPtr c = all({eq(load(Width::Byte, 0, first), 9u, "through first"),
                        eq(load(Width::Byte, 0, second), first, "through second")});
  BpfProgram p = generate(one_branch(c), {});
  // first = 4, second = 5: byte 4 == 9, byte 5 == 4.
  EXPECT_NE(run(p, {2, 3, 0, 0, 9, 4}), 0u);
  EXPECT_EQ(run(p, {2, 3, 0, 0, 9, 5}), 0u);  // byte 5 != first
  EXPECT_EQ(run(p, {2, 3, 0, 0, 9, 9}), 0u);
}

// A variable bound on two paths is read after they join; where a use finds
// X taken, the binding goes to scratch memory as well.
TEST(Codegen, VariableBoundOnEachPathIsReadAfterTheyJoin) {
  ValuePtr var = variable("v");
  ConditionPtr pick = select(eq(load(Width::Byte, 0), 1u, "which"), assign(var, constant(2), "two"),
                             assign(var, constant(3), "three"));
  ValuePtr through_var = load(Width::Byte, 0, var);
  // X is taken by another position between the two reads through var.
  ConditionPtr c = all({pick, eq(through_var, 7u, "first read"),
                        eq(load(Width::Byte, 0, add(load(Width::Byte, 1), 0x10)), 0u, "other"),
                        eq(load(Width::Byte, 1, var), 8u, "second read")});
  BpfProgram p = generate(one_branch(c), {});
  EXPECT_NE(run(p, {1, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 0u);  // var 2
  EXPECT_NE(run(p, {0, 0, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 0u);  // var 3
  EXPECT_EQ(run(p, {0, 0, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}), 0u);  // var 3: byte 3 != 7
  bool spilled = false;
  for (const bpf_insn& i : p.instructions) spilled = spilled || i.code == BPF_STX;
  EXPECT_TRUE(spilled);
}

// Read right after its assignment, the variable is still in X: the
// liveness check keeps it out of scratch memory.
TEST(Codegen, VariableStillInXStaysOutOfScratchMemory) {
  ValuePtr var = variable("v");
  ConditionPtr c = all({assign(var, add(load(Width::Byte, 0), 1), "position"),
                        eq(load(Width::Byte, 0, var), 7u, "read"), eq(load(Width::Byte, 1, var), 8u, "read")});
  BpfProgram p = generate(one_branch(c), {});
  for (const bpf_insn& i : p.instructions) {
    EXPECT_NE(i.code, BPF_STX);
    EXPECT_NE(i.code, BPF_LDX | BPF_MEM);
  }
  EXPECT_NE(run(p, {2, 0, 0, 7, 8}), 0u);
  EXPECT_EQ(run(p, {2, 0, 0, 7, 9}), 0u);
}

// One path assigns the variable and the other does not: no program can read
// it after they join.
TEST(Codegen, VariableReadWhereAPathDidNotAssignItIsAnError) {
  ValuePtr var = variable("v");
  ConditionPtr pick = select(eq(load(Width::Byte, 0), 1u, "which"), assign(var, constant(2), "two"), always());
  ConditionPtr c = all({pick, eq(load(Width::Byte, 0, var), 7u, "read")});
  try {
    generate(one_branch(c), {});
    ADD_FAILURE() << "no error";
  } catch (const std::logic_error& error) {
    EXPECT_EQ(std::string(error.what()), "variable $v is read where no path assigned it");
  }
}

// More values to park than BPF has scratch words: old ones are forgotten
// and computed again, and the program stays valid.
TEST(Codegen, RunningOutOfScratchMemoryForgetsOldValues) {
  ValuePtr b = load(Width::Byte, 0);
  ValuePtr c = load(Width::Byte, 1);
  std::vector<ConditionPtr> checks;
  for (std::uint32_t i = 0; i < 20; ++i) {
    checks.push_back(eq(load(Width::Byte, i, b), add(load(Width::Byte, 30 + i, c), 1), "pair"));
  }
  BpfProgram p = generate(one_branch(all(checks)), {});
  ASSERT_TRUE(is_valid(p));
  std::vector<std::uint8_t> packet(64, 0);
  packet[0] = 2;
  packet[1] = 3;
  for (std::size_t i = 0; i < 20; ++i) {
    packet[33 + i] = static_cast<std::uint8_t>(i);
    packet[2 + i] = static_cast<std::uint8_t>(i + 1);
  }
  // Bytes 2..21 and 33..52 overlap nowhere, so each pair stands alone.
  EXPECT_NE(run(p, packet), 0u);
  packet[2 + 17] = 0;
  EXPECT_EQ(run(p, packet), 0u);
}

}  // namespace
}  // namespace p0fbpf
