#include "backend/classic/compare_trees.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backend/classic/jump_layout.hpp"
#include "bpf_run.hpp"
#include "database_file.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"
#include "pending_code_builder.hpp"
#include "program_pairs.hpp"
#include "test_env.hpp"
#include "test_seed.hpp"

namespace p0fbpf {
namespace {

using testing::ja;
using testing::jeq;
using testing::jump;
using testing::ld_byte;
using testing::ld_word;
using testing::plain;
using testing::ret;
using testing::run_bpf;

// The instructions a program of byte loads, jumps and returns runs on a
// packet, the return counted; what libpcap returns must agree.
std::size_t steps(const BpfProgram& program, const std::vector<std::uint8_t>& packet) {
  std::uint32_t a = 0;
  std::size_t ran = 0;
  for (std::size_t pc = 0; pc < program.instructions.size(); ++pc) {
    const bpf_insn& insn = program.instructions[pc];
    ++ran;
    if (BPF_CLASS(insn.code) == BPF_RET) return ran;
    if (BPF_CLASS(insn.code) == BPF_LD) {
      if (insn.k >= packet.size()) return ran;
      a = packet[insn.k];
      continue;
    }
    bool taken = true;
    switch (BPF_OP(insn.code)) {
      case BPF_JA: pc += insn.k; continue;
      case BPF_JEQ: taken = a == insn.k; break;
      case BPF_JGT: taken = a > insn.k; break;
      case BPF_JGE: taken = a >= insn.k; break;
      default: ADD_FAILURE() << "unexpected instruction " << insn.code; return ran;
    }
    pc += taken ? insn.jt : insn.jf;
  }
  ADD_FAILURE() << "ran off the end";
  return ran;
}

struct Walks {
  std::size_t most = 0, total = 0;
};

// Every first byte, on both programs: the same verdict; what each runs.
std::pair<Walks, Walks> expect_same_verdicts(const PendingCode& code, const PendingCode& balanced) {
  BpfProgram before = lay_out_jumps(code);
  BpfProgram after = lay_out_jumps(balanced);
  std::pair<Walks, Walks> walks;
  for (unsigned b = 0; b < 256; ++b) {
    std::vector<std::uint8_t> packet = {static_cast<std::uint8_t>(b), 7};
    EXPECT_EQ(run_bpf(before, packet), run_bpf(after, packet)) << "byte " << b;
    std::size_t old_steps = steps(before, packet), new_steps = steps(after, packet);
    walks.first.most = std::max(walks.first.most, old_steps);
    walks.second.most = std::max(walks.second.most, new_steps);
    walks.first.total += old_steps;
    walks.second.total += new_steps;
  }
  EXPECT_EQ(run_bpf(before, {}), run_bpf(after, {}));
  return walks;
}

// `jeq` of each constant in turn, each in a block of its own, with its own
// verdict; after the last, 0.
PendingCode equality_chain(const std::vector<std::uint32_t>& constants) {
  PendingCode code = {ld_byte(0)};
  int label = 0;
  for (std::size_t i = 0; i < constants.size(); ++i) {
    int hit = 100 + static_cast<int>(i), next = label + 1;
    if (i > 0) code.push_back(label_marker(label));
    code.push_back(jeq(constants[i], hit, i + 1 < constants.size() ? next : 99));
    label = next;
  }
  code.push_back(label_marker(99));
  code.push_back(ret(0));
  for (std::size_t i = 0; i < constants.size(); ++i) {
    code.push_back(label_marker(100 + static_cast<int>(i)));
    code.push_back(ret(static_cast<std::uint32_t>(i + 1)));
  }
  return code;
}

std::size_t compares(const PendingCode& code) {
  return static_cast<std::size_t>(std::count_if(code.begin(), code.end(), [](const PendingInstruction& p) {
    return p.is_jump() && !p.is_unconditional_jump();
  }));
}

TEST(CompareTrees, EqualityChainBecomesABalancedSearch) {
  PendingCode code = equality_chain({0x2c, 0x40, 0x30, 0x3c, 0x38, 0x34, 0x28});
  std::optional<PendingCode> tree = balance_compare_chains(code);
  ASSERT_TRUE(tree);
  const PendingCode& balanced = *tree;
  auto [before, after] = expect_same_verdicts(code, balanced);
  // The chain runs 7 compares (and a load and a return) for a value it
  // does not name; the tree at most 5: the chain's first compare, which
  // stays, then 3 jgt and a jeq.
  EXPECT_EQ(before.most, 9u);
  EXPECT_LE(after.most, 7u);
  EXPECT_LT(after.total, before.total);
  // The first constant keeps its one compare; where it fails, a jgt
  // splits the others. The chain's other compares, which nothing else
  // reaches, are gone: the tree has fewer than two per constant.
  ASSERT_FALSE(balanced[1].is_label());
  EXPECT_EQ(BPF_OP(balanced[1].insn.code), static_cast<std::uint32_t>(BPF_JEQ));
  EXPECT_EQ(balanced[1].insn.k, 0x2cu);
  EXPECT_EQ(balanced[1].true_label, 100);
  auto root = std::find_if(balanced.begin(), balanced.end(), [&](const PendingInstruction& p) {
    return p.label_here() == balanced[1].false_label;
  });
  ASSERT_NE(root, balanced.end());
  ASSERT_NE(root + 1, balanced.end());
  EXPECT_EQ(BPF_OP((root + 1)->insn.code), static_cast<std::uint32_t>(BPF_JGT));
  EXPECT_LT(compares(balanced), 14u);
}

// Windows of values, as a selection's IPv6 hop limits and payload lengths
// give them: `jgt hi` then `jge lo` for each, in turn.
TEST(CompareTrees, RangeChainBecomesABalancedSearch) {
  PendingCode code = {ld_byte(0)};
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> windows = {
      {0x1d, 0x40}, {0x5d, 0x80}, {0xa1, 0xc0}, {0xe0, 0xf0}, {0x08, 0x10}};
  int label = 0;
  for (std::size_t i = 0; i < windows.size(); ++i) {
    int hit = 100 + static_cast<int>(i), next = label + 2;
    int on_miss = i + 1 < windows.size() ? next : 99;
    if (i > 0) code.push_back(label_marker(label));
    code.push_back(jump(BPF_JGT, windows[i].second, on_miss, label + 1));
    code.push_back(label_marker(label + 1));
    code.push_back(jump(BPF_JGE, windows[i].first, hit, on_miss));
    label = next;
  }
  code.push_back(label_marker(99));
  code.push_back(ret(0));
  for (std::size_t i = 0; i < windows.size(); ++i) {
    code.push_back(label_marker(100 + static_cast<int>(i)));
    code.push_back(ret(static_cast<std::uint32_t>(i + 1)));
  }
  std::optional<PendingCode> tree = balance_compare_chains(code);
  ASSERT_TRUE(tree);
  const PendingCode& balanced = *tree;
  auto [before, after] = expect_same_verdicts(code, balanced);
  EXPECT_LT(after.most, before.most);
  EXPECT_LT(after.total, before.total);
}

// A compare in the middle of a chain that another jump reaches stays
// there for it; the tree replaces only the chain's first compare.
TEST(CompareTrees, ACompareReachedFromElsewhereStays) {
  PendingCode code = {ld_byte(1),        jeq(7, 50, 2),          // byte 1 == 7: straight to the third compare
                      label_marker(2),   ld_byte(0),              //
                      jeq(1, 101, 3),    label_marker(3),         //
                      jeq(2, 102, 50),   label_marker(50),        //
                      jeq(3, 103, 4),    label_marker(4),         //
                      jeq(4, 104, 5),    label_marker(5),         //
                      jeq(5, 105, 99),   label_marker(99),        //
                      ret(0),            label_marker(101),       //
                      ret(1),            label_marker(102),       //
                      ret(2),            label_marker(103),       //
                      ret(3),            label_marker(104),       //
                      ret(4),            label_marker(105),       //
                      ret(5)};
  std::optional<PendingCode> tree = balance_compare_chains(code);
  ASSERT_TRUE(tree);
  const PendingCode& balanced = *tree;
  EXPECT_NE(compares(balanced), compares(code));  // a tree went in
  BpfProgram before = lay_out_jumps(code), after = lay_out_jumps(balanced);
  for (unsigned first = 0; first < 256; ++first) {
    for (std::uint8_t second : {7, 8}) {
      std::vector<std::uint8_t> packet = {static_cast<std::uint8_t>(first), second};
      EXPECT_EQ(run_bpf(before, packet), run_bpf(after, packet)) << first << " " << int{second};
    }
  }
}

// Unconditional jumps between two compares of a chain are followed; the
// tree jumps past them, straight to the code they lead to.
TEST(CompareTrees, UnconditionalJumpsBetweenComparesAreFollowed) {
  PendingCode code = {ld_byte(0),      jeq(1, 101, 2), label_marker(2), ja(3),           label_marker(3),
                      jeq(2, 102, 4),  label_marker(4), ja(5),          label_marker(5), jeq(3, 103, 6),
                      label_marker(6), jeq(4, 104, 7), label_marker(7), ja(8),           label_marker(8),
                      jeq(5, 105, 9),  label_marker(9), ja(99),         label_marker(99), ret(0),
                      label_marker(101), ret(1),        label_marker(102), ret(2),       label_marker(103),
                      ret(3),          label_marker(104), ret(4),       label_marker(105), ret(5)};
  std::optional<PendingCode> tree = balance_compare_chains(code);
  ASSERT_TRUE(tree);
  const PendingCode& balanced = *tree;
  auto [before, after] = expect_same_verdicts(code, balanced);
  EXPECT_LT(after.most, before.most);
  // Only the jump after the first compare, which stays, is left.
  EXPECT_EQ(std::count_if(balanced.begin(), balanced.end(),
                          [](const PendingInstruction& p) { return p.is_unconditional_jump(); }),
            1);
}

// Two compares: no tree runs fewer.
TEST(CompareTrees, ShortChainsStay) {
  PendingCode code = equality_chain({4, 6});
  EXPECT_FALSE(balance_compare_chains(code));
}

// Values at the ends of A's range: a jeq of 0 and of 0xffffffff, a jgt of
// 0xfffffffe.
TEST(CompareTrees, TheEndsOfTheRange) {
  PendingCode code = {ld_word(0),
                      jeq(0, 101, 1),
                      label_marker(1),
                      jeq(0xffffffff, 102, 2),
                      label_marker(2),
                      jump(BPF_JGT, 0xfffffffe, 103, 3),
                      label_marker(3),
                      jeq(0x80000000, 104, 4),
                      label_marker(4),
                      jump(BPF_JGE, 0x7fffffff, 105, 99),
                      label_marker(99),
                      ret(0),
                      label_marker(101),
                      ret(1),
                      label_marker(102),
                      ret(2),
                      label_marker(103),
                      ret(3),
                      label_marker(104),
                      ret(4),
                      label_marker(105),
                      ret(5)};
  std::optional<PendingCode> tree = balance_compare_chains(code);
  ASSERT_TRUE(tree);
  const PendingCode& balanced = *tree;
  BpfProgram before = lay_out_jumps(code), after = lay_out_jumps(balanced);
  for (std::uint32_t value : {0u, 1u, 2u, 0x7ffffffeu, 0x7fffffffu, 0x80000000u, 0x80000001u, 0xfffffffeu,
                              0xffffffffu}) {
    std::vector<std::uint8_t> packet = {static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
                                        static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value)};
    EXPECT_EQ(run_bpf(before, packet), run_bpf(after, packet)) << std::hex << value;
  }
}

// Random chains: compares of a word with constants from a small pool (so
// that values hit them), each in a block of its own, leading to returns,
// to later compares (also past unconditional jumps) or to the next; some
// compares are also reached from the program's start with another value
// in A. Every value at and around every constant, on both programs: the
// same verdict.
TEST(CompareTrees, RandomChainsKeepEveryVerdict) {
  std::uint64_t seed = testing::seed_from_env();
  std::printf("seed %llu (P0FBPF_SEED repeats it)\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  auto below = [&](std::uint64_t n) { return static_cast<std::size_t>(rng() % n); };
  constexpr std::uint16_t kOps[] = {BPF_JEQ, BPF_JGT, BPF_JGE};
  constexpr int kExits = 1000, kCompares = 10;  // labels: returns from 1000, compares from 10
  std::size_t trees = 0;
  for (int round = 0; round < 400; ++round) {
    std::vector<std::uint32_t> pool;
    for (int i = 0; i < 8; ++i) pool.push_back(static_cast<std::uint32_t>(rng() % 3 ? rng() % 64 : rng()));
    pool.push_back(0);
    pool.push_back(0xffffffff);
    const std::size_t n = 4 + below(28), exits = 2 + below(6);
    // Byte 4 == 1: into a compare in the middle, with A holding byte 5's
    // word-sized neighbour ([5]) instead of [0].
    int middle = kCompares + static_cast<int>(1 + below(n - 1));
    PendingCode code = {ld_byte(4), jeq(1, 1, 2), label_marker(1),
                        ld_word(5), ja(middle), label_marker(2),
                        ld_word(0)};
    for (std::size_t i = 0; i < n; ++i) {
      int self = kCompares + static_cast<int>(i);
      auto later = [&] { return self + 1 + static_cast<int>(below(n - i)); };  // may be one past: an exit
      auto target = [&](bool next) {
        int t = next ? self + 1 : below(3) == 0 ? later() : kExits + static_cast<int>(below(exits));
        return t == kCompares + static_cast<int>(n) ? kExits + static_cast<int>(below(exits)) : t;
      };
      if (i > 0) code.push_back(label_marker(self));
      if (below(5) == 0) {  // an unconditional jump on the way in
        code.push_back(ja(500 + self));
        code.push_back(label_marker(500 + self));
      }
      PendingInstruction compare = jump(kOps[below(3)], pool[below(pool.size())], target(false), target(true));
      if (below(2)) std::swap(compare.true_label, compare.false_label);
      code.push_back(compare);
    }
    for (std::size_t e = 0; e < exits; ++e) {
      code.push_back(label_marker(kExits + static_cast<int>(e)));
      code.push_back(ret(static_cast<std::uint32_t>(e + 1)));
    }
    std::optional<PendingCode> tree = balance_compare_chains(code);
    if (!tree) continue;
    ++trees;
    BpfProgram before = lay_out_jumps(code), after = lay_out_jumps(*tree);
    ASSERT_TRUE(is_valid(after)) << "round " << round;
    for (std::uint32_t k : pool) {
      for (std::uint32_t value : {k - 1, k, k + 1}) {
        for (std::uint8_t entry : {0, 1}) {
          std::vector<std::uint8_t> packet = {static_cast<std::uint8_t>(value >> 24),
                                              static_cast<std::uint8_t>(value >> 16),
                                              static_cast<std::uint8_t>(value >> 8),
                                              static_cast<std::uint8_t>(value),
                                              entry,
                                              static_cast<std::uint8_t>(value >> 24),
                                              static_cast<std::uint8_t>(value >> 16),
                                              static_cast<std::uint8_t>(value >> 8),
                                              static_cast<std::uint8_t>(value)};
          ASSERT_EQ(run_bpf(before, packet), run_bpf(after, packet))
              << "round " << round << ", value " << value << ", entry " << int{entry};
        }
      }
    }
  }
  std::printf("%zu of 400 random chains became trees\n", trees);
  EXPECT_GT(trees, 100u);
}

// Every label of a database, in every form a program takes, with and
// without search trees: the same verdict on packets of its signatures,
// and no fit lost.
void compare_database(const std::string& path) {
  std::optional<DatabaseResult> read = testing::read_database_file(path);
  P0FBPF_REQUIRE(read, path + " missing (apt-get install p0f)");
  ASSERT_TRUE(read->ok());
  testing::PairCounts counts = testing::compare_program_pairs(
      read->database, 23, [](CompileOptions&) {}, [](CompileOptions& options) { options.balance_compares = false; });
  std::printf("%s: %zu programs, %zu changed by search trees; %zu verdicts compared, %zu accepted\n", path.c_str(),
              counts.programs, counts.changed, counts.packets, counts.accepted);
  // The whole section's programs at least have chains worth a tree.
  EXPECT_GT(counts.changed, 0u);
  EXPECT_GT(counts.accepted, counts.packets / 20);
}

TEST(CompareTreesEquivalence, EveryLabelOfP0fFp) { compare_database("/etc/p0f/p0f.fp"); }

TEST(CompareTreesEquivalence, EveryLabelOfTheBundledDatabase) {
  compare_database(std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp");
}

}  // namespace
}  // namespace p0fbpf
