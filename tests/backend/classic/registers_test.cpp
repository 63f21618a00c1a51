#include "backend/classic/registers.hpp"

#include <gtest/gtest.h>

namespace p0fbpf {
namespace {

using namespace ir;

std::vector<std::uint16_t> codes(const PendingCode& code) {
  std::vector<std::uint16_t> out;
  for (const PendingInstruction& p : code) out.push_back(p.insn.code);
  return out;
}

TEST(Registers, ValueInAOrXNeedsNoInstruction) {
  PendingCode code;
  Registers registers(code, {});
  registers.start_branch(0, false);
  ValuePtr ttl = load(Width::Byte, 8);
  registers.into_a(ttl);
  registers.into_a(ttl);
  registers.into_x(ip_header_length());
  registers.into_x(ip_header_length());
  EXPECT_EQ(codes(code), (std::vector<std::uint16_t>{BPF_LD | BPF_B | BPF_ABS, BPF_LDX | BPF_B | BPF_MSH}));
  EXPECT_EQ(registers.state().a, ttl->key);
  EXPECT_EQ(registers.state().x, ip_header_length()->key);
}

TEST(Registers, LinkOffsetMovesLoads) {
  PendingCode code;
  Registers registers(code, {});
  registers.start_branch(14, false);
  registers.into_a(load(Width::Half, 2, ip_header_length()));
  ASSERT_EQ(code.size(), 2u);
  EXPECT_EQ(code[0].insn.code, BPF_LDX | BPF_B | BPF_MSH);
  EXPECT_EQ(code[0].insn.k, 14u);
  EXPECT_EQ(code[1].insn.code, BPF_LD | BPF_H | BPF_IND);
  EXPECT_EQ(code[1].insn.k, 16u);
}

// A load through a computed position, used twice: the second use reloads it
// from scratch memory, not through X, which holds another position by then.
TEST(Registers, ValueUsedAgainComesBackFromScratchMemory) {
  PendingCode code;
  Registers registers(code, {});
  ValuePtr position = add(load(Width::Byte, 0), 4);
  ValuePtr kind = load(Width::Byte, 0, position);
  ValuePtr other = load(Width::Byte, 0, add(load(Width::Byte, 1), 4));
  registers.start_branch(0, false);
  registers.count_branch_uses(all({eq(kind, 1u, "a"), eq(other, 2u, "b"), eq(kind, 3u, "c")}));
  registers.into_a(kind);
  registers.into_a(other);
  std::size_t before = code.size();
  registers.into_a(kind);
  ASSERT_EQ(code.size(), before + 1);
  EXPECT_EQ(code.back().insn.code, BPF_LD | BPF_MEM);
  bool stored = false;
  for (const PendingInstruction& p : code) stored = stored || (p.insn.code == BPF_ST && p.insn.k == code.back().insn.k);
  EXPECT_TRUE(stored);
}

// Each branch starts with nothing in scratch memory, so a load through X
// that occurs once in each of two branches is not worth a store in either
// (behind Ethernet without copies, every load of every branch was stored,
// twice the program).
TEST(Registers, AValueUsedOnceInEachBranchIsNotStored) {
  PendingCode code;
  Registers registers(code, {});
  ValuePtr kind = load(Width::Word, 14, variable("shift"));
  ConditionPtr check = eq(kind, 1u, "a");
  for (bool first : {true, false}) {
    registers.start_branch(0, first);
    registers.count_branch_uses(check);
    registers.assign(variable("shift"), constant(0));
    registers.into_a(kind);
  }
  for (const PendingInstruction& p : code) EXPECT_NE(p.insn.code, BPF_ST);
  // Used twice in one branch, with another value between, it is.
  registers.start_branch(0, false);
  registers.count_branch_uses(all({check, eq(load(Width::Byte, 3), 5u, "b"), eq(kind, 2u, "c")}));
  registers.assign(variable("shift"), constant(0));
  registers.into_a(kind);
  EXPECT_EQ(code.back().insn.code, BPF_ST);
}

TEST(Registers, SpilledVariableGetsTheLastSlot) {
  PendingCode code;
  Registers registers(code, {"$v"});
  registers.start_branch(0, false);
  registers.assign(variable("v"), constant(6));
  ASSERT_EQ(code.size(), 2u);
  EXPECT_EQ(code[0].insn.code, BPF_LDX | BPF_IMM);
  EXPECT_EQ(code[1].insn.code, BPF_STX);
  EXPECT_EQ(code[1].insn.k, static_cast<std::uint32_t>(kScratchSlots - 1));
  registers.into_x(load(Width::Byte, 3));  // X now holds something else
  std::size_t before = code.size();
  registers.into_x(variable("v"));
  ASSERT_EQ(code.size(), before + 1);
  EXPECT_EQ(code.back().insn.code, BPF_LDX | BPF_MEM);
  EXPECT_EQ(code.back().insn.k, static_cast<std::uint32_t>(kScratchSlots - 1));
  EXPECT_TRUE(registers.missing_variables().empty());
}

TEST(Registers, VariableOverwrittenInXIsMissing) {
  PendingCode code;
  Registers registers(code, {});
  registers.start_branch(0, false);
  registers.assign(variable("v"), constant(6));
  registers.into_x(load(Width::Byte, 3));
  registers.into_x(variable("v"));
  EXPECT_EQ(registers.missing_variables(), std::vector<std::string>{"$v"});
  EXPECT_FALSE(registers.unassigned_variable());
}

// What reads X as the link shift says so (kXHoldsLinkShift), for jump
// threading: a load behind it, a subtraction of it, its reload from scratch
// memory; a load behind another position does not.
TEST(Registers, ReadsOfTheLinkShiftAreMarked) {
  PendingCode code;
  ValuePtr shift = link_shift_variable();
  Registers registers(code, {shift->key});
  registers.start_branch(0, true);
  registers.assign(shift, constant(4));
  registers.into_a(load(Width::Word, 14, shift));
  EXPECT_EQ(code.back().insn.code, BPF_LD | BPF_W | BPF_IND);
  EXPECT_TRUE(x_holds_link_shift(code.back().insn));
  registers.into_a(binary(BinaryOp::Sub, packet_length(), shift));
  EXPECT_EQ(code.back().insn.code, BPF_ALU | BPF_SUB | BPF_X);
  EXPECT_TRUE(x_holds_link_shift(code.back().insn));
  registers.into_x(ip_header_length());  // X holds another position
  registers.into_a(load(Width::Byte, 2, ip_header_length()));
  EXPECT_FALSE(x_holds_link_shift(code.back().insn));
  registers.into_x(shift);  // back from scratch memory
  EXPECT_EQ(code.back().insn.code, BPF_LDX | BPF_MEM);
  EXPECT_TRUE(x_holds_link_shift(code.back().insn));
  for (const PendingInstruction& p : code) {
    if (BPF_CLASS(p.insn.code) == BPF_STX || p.insn.code == (BPF_LDX | BPF_IMM)) {
      EXPECT_EQ(p.insn.jf, 0);
    }
  }
}

// The program's framing sets the shift for every branch: a branch starts
// with it where it was left in X or scratch memory, and with nothing else.
TEST(Registers, ABranchKeepsTheCarriedVariable) {
  PendingCode code;
  ValuePtr shift = link_shift_variable();
  Registers registers(code, {});
  registers.start_branch(0, true);
  registers.assign(shift, constant(4));
  registers.into_a(load(Width::Byte, 8));
  registers.start_branch(0, false, &shift->key);
  EXPECT_EQ(registers.state().x, shift->key);
  EXPECT_TRUE(registers.state().a.empty());
  registers.start_branch(0, false);
  EXPECT_TRUE(registers.state().x.empty());
}

TEST(Registers, MeetKeepsWhatBothPathsHold) {
  MachineState l, r;
  l.a = "a";
  r.a = "a";
  l.x = "x1";
  r.x = "x2";
  l.scratch = {{"s", 1}, {"t", 2}};
  r.scratch = {{"s", 1}, {"t", 3}};
  l.assigned = {"$v", "$w"};
  r.assigned = {"$v"};
  MachineState m = MachineState::meet(l, r);
  EXPECT_EQ(m.a, "a");
  EXPECT_EQ(m.x, "");
  EXPECT_EQ(m.scratch, (std::map<std::string, int>{{"s", 1}}));
  EXPECT_EQ(m.assigned, (std::set<std::string>{"$v"}));
}

}  // namespace
}  // namespace p0fbpf
