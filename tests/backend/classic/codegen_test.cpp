#include "backend/classic/codegen.hpp"

#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "database_file.hpp"
#include "p0fbpf/compiler.hpp"
#include "program_pairs.hpp"
#include "test_env.hpp"

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

// Two branches of one IP version each, as raw IP programs lower them: the
// version, header length and datagram length in the first word's compare.
Program two_versions(int first_version) {
  Branch v6{"v6", all({eq(bit_and(load(Width::Word, 0), 0xf03fffffu), 0x60000000u, "ver, flow"),
                       eq(load(Width::Byte, 6), 6u, "ip protocol tcp")})};
  v6.ip_version = 6;
  v6.signature = 6;
  Branch v4{"v4", all({eq(bit_and(load(Width::Word, 0), 0xff03ffffu), 0x4500003cu, "ver, olen, pclass"),
                       eq(load(Width::Byte, 9), 6u, "ip protocol tcp")})};
  v4.signature = 4;
  Program program;
  program.branches = first_version == 6 ? std::vector<Branch>{v6, v4} : std::vector<Branch>{v4, v6};
  return program;
}

CodegenOptions split_options() {
  CodegenOptions options;
  options.version_split = true;
  return options;
}

// Where a jump of the instruction at `at` goes when `taken` is as given.
std::size_t target(const BpfProgram& p, std::size_t at, bool taken) {
  const bpf_insn& i = p.instructions[at];
  return at + 1 + (taken ? i.jt : i.jf);
}

bool is_split(const BpfProgram& p) {
  return p.instructions.size() > 2 && p.instructions[0].code == (BPF_LD | BPF_W | BPF_ABS) &&
         p.instructions[0].k == 0 && p.instructions[1].code == (BPF_JMP | BPF_JSET | BPF_K) &&
         p.instructions[1].k == 0x20000000u;
}

// Packets of every version nibble, each with the first word of two_versions'
// IPv4 branch and with its IPv6 branch's, and packets shorter than the
// first word.
std::vector<std::vector<std::uint8_t>> version_packets() {
  std::vector<std::vector<std::uint8_t>> out = {{}, {0x45}, {0x60, 0}, {0x45, 0, 0}};
  for (unsigned version = 0; version < 16; ++version) {
    for (std::uint8_t next : {6, 17}) {
      std::vector<std::uint8_t> p(60, 0);
      p[0] = static_cast<std::uint8_t>(version << 4 | 5);
      p[3] = 0x3c;
      p[6] = next;  // IPv6's next header
      p[9] = next;  // IPv4's protocol
      out.push_back(p);
      p[0] = static_cast<std::uint8_t>(version << 4);
      p[3] = 0;
      out.push_back(p);
    }
  }
  return out;
}

// The program's framing runs once, in front; each branch finds the shift
// it set still in X (no reload where nothing took X) and reads behind it.
TEST(Codegen, TheProgramsFramingRunsOnceAndItsShiftStaysInX) {
  ValuePtr shift = link_shift_variable();
  Program program;
  program.framing = all({assign(shift, constant(0), "no tag"),
                         select(eq(frame_load(Width::Half, 12), 0x8100, "tag"), assign(shift, constant(4), "tag"),
                                always())});
  program.branches.push_back({"a", eq(load(Width::Byte, 14, shift), 1, "a")});
  program.branches.push_back({"b", eq(load(Width::Byte, 15, shift), 2, "b")});
  CodegenOptions options;
  options.accept_value = 9;
  BpfProgram code = generate(program, options);
  std::size_t frame_reads = 0, x_loads = 0;
  for (const bpf_insn& i : code.instructions) {
    frame_reads += i.code == (BPF_LD | BPF_H | BPF_ABS);
    x_loads += BPF_CLASS(i.code) == BPF_LDX;
    if (BPF_CLASS(i.code) != BPF_JMP) {
      EXPECT_EQ(i.jf, 0);  // no mark of pending code left
    }
  }
  EXPECT_EQ(frame_reads, 1u);
  EXPECT_EQ(x_loads, 1u);  // ldx #4 behind a tag; X starts at 0
  std::vector<std::uint8_t> untagged(16, 0), tagged(20, 0);
  tagged[12] = 0x81;
  untagged[14] = 1;
  tagged[18] = 1;
  EXPECT_EQ(run(code, untagged), 9u);
  EXPECT_EQ(run(code, tagged), 9u);
  untagged[14] = 0;
  tagged[18] = 0;
  EXPECT_EQ(run(code, untagged), 0u);
  untagged[15] = 2;
  tagged[19] = 2;
  EXPECT_EQ(run(code, untagged), 9u);
  EXPECT_EQ(run(code, tagged), 9u);
}

TEST(CodegenVersionSplit, EachVersionGoesToItsOwnBranches) {
  for (int first : {6, 4}) {
    BpfProgram p = generate(two_versions(first), split_options());
    ASSERT_TRUE(is_split(p)) << "first version " << first;
    // Each side starts with its branch's mask: the word is already in A.
    std::size_t v6 = target(p, 1, true), v4 = target(p, 1, false);
    EXPECT_EQ(p.instructions[v6].code, BPF_ALU | BPF_AND | BPF_K);
    EXPECT_EQ(p.instructions[v6].k, 0xf03fffffu);
    EXPECT_EQ(p.instructions[v4].code, BPF_ALU | BPF_AND | BPF_K);
    EXPECT_EQ(p.instructions[v4].k, 0xff03ffffu);
    // A failed first compare goes past the other version's branch, to the
    // rejection.
    for (std::size_t side : {v6, v4}) {
      const bpf_insn& fail = p.instructions[target(p, side + 1, false)];
      EXPECT_EQ(fail.code, BPF_RET | BPF_K) << "first version " << first << ", side at " << side;
      EXPECT_EQ(fail.k, 0u);
    }
    // Each branch's signature as the verdict: the same as without the
    // split, and each branch accepts its own packets.
    CodegenOptions per_signature = split_options();
    per_signature.verdict_per_signature = true;
    CodegenOptions plain;
    plain.verdict_per_signature = true;
    BpfProgram split = generate(two_versions(first), per_signature);
    BpfProgram unsplit = generate(two_versions(first), plain);
    ASSERT_TRUE(is_split(split));
    ASSERT_FALSE(is_split(unsplit));
    std::map<std::uint32_t, int> verdicts;
    for (const auto& packet : version_packets()) {
      std::uint32_t verdict = run(split, packet);
      EXPECT_EQ(verdict, run(unsplit, packet)) << "first version " << first << ", first byte "
                                                << (packet.empty() ? -1 : int{packet[0]});
      EXPECT_EQ(run(p, packet) != 0, verdict != 0);
      ++verdicts[verdict];
    }
    // One packet each: version 4's IPv4 word and version 6's IPv6 word, with protocol 6.
    EXPECT_EQ(verdicts[4 + 1], 1) << "first version " << first;
    EXPECT_EQ(verdicts[6 + 1], 1) << "first version " << first;
  }
}

TEST(CodegenVersionSplit, OnlyForTwoRunsOfVersionsAtThePacketsStart) {
  EXPECT_FALSE(is_split(generate(two_versions(6), {})));  // not asked for
  CodegenOptions negated = split_options();
  negated.negate = true;
  EXPECT_FALSE(is_split(generate(two_versions(6), negated)));
  Program both = two_versions(6);
  both.branches[1].ip_version = 0;
  EXPECT_FALSE(is_split(generate(both, split_options())));
  Program behind = two_versions(6);
  for (Branch& b : behind.branches) b.link_offset = 14;
  EXPECT_FALSE(is_split(generate(behind, split_options())));
  Program framed = two_versions(6);
  framed.branches[0].framing = eq(frame_load(Width::Half, 12), 0x86ddu, "ethertype");
  EXPECT_FALSE(is_split(generate(framed, split_options())));
  Program three = two_versions(6);
  three.branches.push_back(three.branches[0]);
  EXPECT_FALSE(is_split(generate(three, split_options())));
  Program one = two_versions(4);
  one.branches.pop_back();
  EXPECT_FALSE(is_split(generate(one, split_options())));
}

TEST(CodegenVersionSplit, DroppedWhereItWouldLoseAFit) {
  // Byte compares of the version: the split's word reload saves nothing, so
  // it makes the program two instructions longer.
  Branch v6{"v6", all({eq(bit_and(load(Width::Byte, 0), 0xf0u), 0x60u, "ver"), eq(load(Width::Byte, 6), 6u, "tcp")})};
  v6.ip_version = 6;
  Branch v4{"v4", all({eq(load(Width::Byte, 0), 0x45u, "ver, olen"), eq(load(Width::Byte, 9), 6u, "tcp")})};
  Program program;
  program.branches = {v6, v4};
  std::size_t unsplit = generate(program, {}).instructions.size();
  BpfProgram split = generate(program, split_options());
  ASSERT_TRUE(is_split(split));
  ASSERT_GT(split.instructions.size(), unsplit);
  CodegenOptions tight = split_options();
  tight.size_budget = unsplit;
  BpfProgram p = generate(program, tight);
  EXPECT_FALSE(is_split(p));
  EXPECT_EQ(p.instructions.size(), unsplit);
  tight.size_budget = split.instructions.size();
  EXPECT_TRUE(is_split(generate(program, tight)));
}

// Every label of a database, in every form a program takes, with and
// without the split: the same verdict on packets of its signatures, and
// no fit lost.
void compare_database(const std::string& path) {
  std::optional<DatabaseResult> read = testing::read_database_file(path);
  P0FBPF_REQUIRE(read, path + " missing (apt-get install p0f)");
  ASSERT_TRUE(read->ok());
  std::size_t split = 0;
  testing::PairCounts counts = testing::compare_program_pairs(
      read->database, 29, [](CompileOptions&) {}, [](CompileOptions& options) { options.version_split = false; },
      [&](const testing::ProgramPair& pair) {
        split += is_split(pair.now);
        if (pair.options.link.type != LinkType::Raw || pair.options.negate) {
          EXPECT_FALSE(is_split(pair.now)) << pair.label.text;
        }
      });
  std::printf("%s: %zu programs, %zu split; %zu verdicts compared, %zu accepted\n", path.c_str(), counts.programs,
              split, counts.packets, counts.accepted);
  EXPECT_GT(split, 0u);
  EXPECT_GT(counts.accepted, counts.packets / 20);
}

TEST(CodegenVersionSplitEquivalence, EveryLabelOfP0fFp) { compare_database("/etc/p0f/p0f.fp"); }

TEST(CodegenVersionSplitEquivalence, EveryLabelOfTheBundledDatabase) {
  compare_database(std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp");
}

}  // namespace
}  // namespace p0fbpf
