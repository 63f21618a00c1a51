#include "backend/classic/jump_threading.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <optional>

#include "backend/classic/jump_layout.hpp"
#include "database_file.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"
#include "pending_code_builder.hpp"
#include "program_pairs.hpp"
#include "test_env.hpp"

namespace p0fbpf {
namespace {

using testing::ja;
using testing::jeq;
using testing::jump;
using testing::ld_byte;
using testing::ld_word;
using testing::plain;
using testing::ret;

PendingInstruction and_k(std::uint32_t mask) { return plain(BPF_ALU | BPF_AND | BPF_K, mask); }

std::uint32_t run(const BpfProgram& program, const std::vector<std::uint8_t>& packet) {
  auto size = static_cast<unsigned>(packet.size());
  return bpf_filter(program.instructions.data(), packet.data(), size, size);
}

// Every first byte in packets of one, two and four bytes, and the empty
// packet, on both programs.
void expect_same_verdicts(const PendingCode& code) {
  BpfProgram before = lay_out_jumps(code);
  BpfProgram after = lay_out_jumps(thread_jumps(code));
  for (unsigned b = 0; b < 256; ++b) {
    auto first = static_cast<std::uint8_t>(b);
    for (std::vector<std::uint8_t> packet : {std::vector<std::uint8_t>{first}, std::vector<std::uint8_t>{first, 7},
                                             std::vector<std::uint8_t>{first, 7, 0, 0x3c}}) {
      EXPECT_EQ(run(before, packet), run(after, packet)) << "byte " << b;
    }
  }
  EXPECT_EQ(run(before, {}), run(after, {}));
}

// Two signatures' blocks that start with the same test: a packet failing
// the first's goes straight to the reject, past the second's.
TEST(JumpThreading, FailedTestSkipsTheSameTestLater) {
  PendingCode code = {ld_byte(0), jeq(4, 1, 2),                       // first block
                      label_marker(1), ld_byte(1), jeq(7, 9, 2),      // its second test
                      label_marker(2), ld_byte(0), jeq(4, 3, 8),      // second block
                      label_marker(3), ld_byte(1), jeq(9, 9, 8),
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[1].false_label, 8);  // ld [0] != 4: the second block must fail too
  // From a failed second test the first test held: into the second block's
  // second test, past its reload of [1], which A holds there.
  int into = threaded[4].false_label;
  auto marker = std::find_if(threaded.begin(), threaded.end(),
                             [&](const PendingInstruction& p) { return p.label_here() == into; });
  ASSERT_NE(marker, threaded.end());
  auto next = std::find_if(marker, threaded.end(), [](const PendingInstruction& p) { return !p.is_label(); });
  ASSERT_NE(next, threaded.end());
  EXPECT_EQ(next->insn.code, BPF_JMP | BPF_JEQ | BPF_K);
  EXPECT_EQ(next->insn.k, 9u);
  // Nothing jumps to the second block's first test, nor to its reload of
  // [1], any more: they are gone.
  EXPECT_EQ(lay_out_jumps(threaded).instructions.size(), lay_out_jumps(code).instructions.size() - 3);
  expect_same_verdicts(code);
}

// A failed compare of `ld [0] & M` goes on to the next block's compare of
// the same value past its `ld [0]; and #M`, which would compute what A holds;
// a block that computes another value is entered at its start.
TEST(JumpThreading, FailedCompareSkipsTheReloadOfItsValue) {
  PendingCode code = {ld_word(0), and_k(0xff00ffff), jeq(0x4500003c, 9, 2),
                      label_marker(2), ld_word(0), and_k(0xff00ffff), jeq(0x45000034, 9, 3),
                      label_marker(3), ld_word(0), and_k(0xf0000000), jeq(0x60000000, 9, 8),
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  BpfProgram laid = lay_out_jumps(threaded);
  // ld, and, jeq, jeq, ld, and, jeq, ret, ret: the second block's reload is gone.
  EXPECT_EQ(laid.instructions.size(), lay_out_jumps(code).instructions.size() - 2);
  ASSERT_GE(laid.instructions.size(), 4u);
  EXPECT_EQ(laid.instructions[3].code, BPF_JMP | BPF_JEQ | BPF_K);
  EXPECT_EQ(laid.instructions[3].k, 0x45000034u);
  // The third block computes another value: it keeps its loads.
  EXPECT_EQ(laid.instructions[4].code, BPF_LD | BPF_W | BPF_ABS);
  expect_same_verdicts(code);
}

// A held test decides a later one on a part of the same bits, and a
// conflicting one on shared bits; a failed one decides a test of more bits
// that would imply it.
TEST(JumpThreading, MasksDecideEachOther) {
  PendingCode code = {ld_byte(0), and_k(0xf0), jeq(0x40, 1, 5),
                      label_marker(1), ld_byte(0), and_k(0xff), jeq(0x60, 9, 2),  // conflicts: fails
                      label_marker(2), ld_byte(0), and_k(0x30), jeq(0x00, 3, 8),  // within: holds
                      label_marker(3), ret(2),
                      label_marker(5), ld_byte(0), and_k(0xff), jeq(0x45, 9, 8),  // implies 0x40: fails
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[2].true_label, 3);
  EXPECT_EQ(threaded[2].false_label, 8);
  expect_same_verdicts(code);
}

TEST(JumpThreading, RangesDecideLaterRanges) {
  PendingCode code = {ld_byte(0), jump(BPF_JGT, 0x40, 1, 2), label_marker(1), ret(3), label_marker(2),
                      ld_byte(0), jump(BPF_JGE, 0x80, 9, 8),
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[1].false_label, 8);  // <= 0x40: not >= 0x80
  expect_same_verdicts(code);
}

// A skipped block's load must have been done on the path: one that may be
// past the end of the packet ends the program, and stays.
TEST(JumpThreading, LoadNotDoneOnThePathIsNotSkipped) {
  PendingCode code = {ld_byte(0), jeq(4, 1, 2), label_marker(1), ret(3),
                      label_marker(2), ld_byte(1), jeq(4, 9, 8),
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[1].false_label, 2);
  expect_same_verdicts(code);
}

// The target after the skipped block reads A as the block left it (a
// second compare of the same value), and A holds another value on the
// jump: not threaded there.
TEST(JumpThreading, TargetThatReadsAnotherAIsNotReached) {
  PendingCode code = {ld_byte(0), and_k(0xf0), jeq(0x40, 1, 9),
                      label_marker(1), ld_byte(1), jeq(5, 9, 2),                // A is [1] here
                      label_marker(2), ld_byte(0), and_k(0xf0), jeq(0x40, 3, 8),  // decided: holds
                      label_marker(3), and_k(0x0f), jeq(6, 9, 8),  // reads A: [0] & 0xf0, not [1]
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[5].false_label, 2);
  expect_same_verdicts(code);
}

// A loose IPv4 branch tests `ld [0]` (version, header length, datagram
// length), an IPv6 one `ldb [0] & 0xf0`: a held word decides the byte.
TEST(JumpThreading, WordDecidesTheByteItHolds) {
  PendingCode code = {ld_word(0), and_k(0xff00ffff), jeq(0x4500003c, 1, 2),
                      label_marker(1), ld_byte(1), jeq(7, 9, 2),                  // word held, byte 1 fails
                      label_marker(2), ld_byte(0), and_k(0xf0), jeq(0x60, 9, 8),  // the IPv6 branch
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[5].false_label, 8);  // version 4: not 6
  // A failed word says nothing about byte 0 alone (the length may differ).
  EXPECT_EQ(threaded[2].false_label, 2);
  expect_same_verdicts(code);
}

// A failed word test on byte 0 alone decides a byte test that implies it.
TEST(JumpThreading, FailedWordOfOneByteDecidesTheByte) {
  PendingCode code = {ld_word(0), and_k(0xff000000), jeq(0x45000000, 9, 2),
                      label_marker(2), ld_byte(0), jeq(0x45, 9, 8),
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[2].false_label, 8);
  expect_same_verdicts(code);
}

// A held byte decides a word test on it, but the word was never loaded on
// the path: on a packet shorter than 4 bytes the word load ends the
// program, so it stays.
TEST(JumpThreading, ByteDoesNotSkipAWiderLoad) {
  PendingCode code = {ld_byte(0), and_k(0xf0), jeq(0x60, 1, 8),
                      label_marker(1), ld_word(0), and_k(0xff00ffff), jeq(0x4500003c, 8, 9),
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[2].true_label, 1);
  expect_same_verdicts(code);
}

// The same word test after a failed IPv6 branch: its load was not done on
// the path either, but the walk past it ends at a return of 0, which is
// what the load gives a packet too short for it. The failed branch goes
// straight there (a loose program's IPv6 packets skip every IPv4 branch).
TEST(JumpThreading, LoadThatMayFailIsSkippedOnTheWayToReturnZero) {
  PendingCode code = {ld_byte(0), and_k(0xf0), jeq(0x60, 1, 2),
                      label_marker(1), ld_byte(1), jeq(9, 9, 2),  // the IPv6 branch's next test
                      label_marker(2), ld_word(0), and_k(0xff00ffff), jeq(0x4500003c, 9, 8),
                      label_marker(8), ret(0), label_marker(9), ret(1)};
  PendingCode threaded = thread_jumps(code);
  EXPECT_EQ(threaded[5].false_label, 8);  // version 6: not the IPv4 word
  EXPECT_EQ(threaded[2].false_label, 2);  // not version 6: the IPv4 branch decides
  expect_same_verdicts(code);
}

TEST(JumpThreading, UnreachedCodeGoes) {
  PendingCode code = {ld_byte(0), jeq(4, 1, 2), label_marker(1), ld_byte(0), jeq(4, 9, 8),
                      label_marker(2), ret(5), label_marker(8), ret(0), label_marker(9), ret(1)};
  // [0] == 4 decides the second test: it and its load go.
  BpfProgram threaded = lay_out_jumps(thread_jumps(code));
  EXPECT_EQ(threaded.instructions.size(), 4u);  // ld, jeq, ret #5, ret #1
  expect_same_verdicts(code);
}

// A load through X where X holds the link shift (kXHoldsLinkShift), the
// same for the whole frame: threaded past like an absolute load. Without
// the mark X might hold anything, and nothing is threaded.
PendingInstruction ld_behind(std::uint32_t offset, bool marked) {
  PendingInstruction p = plain(BPF_LD | BPF_B | BPF_IND, offset);
  if (marked) p.insn.jf = kXHoldsLinkShift;
  return p;
}

TEST(JumpThreading, ReadsBehindTheLinkShiftAreThreadedAsFixedOnes) {
  for (bool marked : {true, false}) {
    PendingCode code = {plain(BPF_LDX | BPF_IMM, 1),  // the shift
                        ld_behind(0, marked), jeq(4, 9, 2),
                        label_marker(2), ld_behind(0, marked), jeq(4, 9, 8),  // must fail too
                        label_marker(8), ret(0), label_marker(9), ret(1)};
    PendingCode threaded = thread_jumps(code);
    EXPECT_EQ(threaded[2].false_label, marked ? 8 : 2) << marked;
    expect_same_verdicts(code);
  }
}

// A reload of the shift into X (ldx M[]) is gone past where X holds the
// shift on the way in, and entered where X holds something else (after a
// tax or another ldx: a window check's operand).
TEST(JumpThreading, AReloadOfTheShiftIsGonePastOnlyWhereXHoldsIt) {
  PendingInstruction reload = plain(BPF_LDX | BPF_MEM, 15);
  reload.insn.jf = kXHoldsLinkShift;
  for (std::uint16_t clobber : {std::uint16_t(BPF_MISC | BPF_TAX), std::uint16_t(BPF_LDX | BPF_IMM)}) {
    PendingCode code = {plain(BPF_LDX | BPF_IMM, 1), plain(BPF_STX, 15),
                        ld_behind(0, true), jeq(4, 3, 2),           // X holds the shift on the false edge
                        label_marker(3), plain(clobber, 2), ld_byte(1), jeq(7, 9, 2),  // and not here
                        label_marker(2), reload, ld_behind(0, true), jeq(4, 9, 8),
                        label_marker(8), ret(0), label_marker(9), ret(1)};
    PendingCode threaded = thread_jumps(code);
    EXPECT_EQ(threaded[3].false_label, 8);  // past the reload and the compare it would fail
    auto second = std::find_if(threaded.begin(), threaded.end(), [](const PendingInstruction& p) {
      return !p.is_label() && BPF_CLASS(p.insn.code) == BPF_JMP && p.insn.k == 7;
    });
    ASSERT_NE(second, threaded.end());
    EXPECT_EQ(second->false_label, 2) << "a clobbered X went past the reload";
    expect_same_verdicts(code);
  }
}

// Old and new programs of every label of a database, in every form a
// program takes, on packets of its signatures: the same return value.
void compare_database(const std::string& path) {
  std::optional<DatabaseResult> read = testing::read_database_file(path);
  P0FBPF_REQUIRE(read, path + " missing (apt-get install p0f)");
  ASSERT_TRUE(read->ok());
  testing::PairCounts counts = testing::compare_program_pairs(
      read->database, 22,
      [](CompileOptions& options) {
        options.verify_each_pass = true;
        options.balance_compares = false;  // threading alone (compare_trees_test.cpp tests the trees)
      },
      [](CompileOptions& options) { options.thread_jumps = false; },
      [](const testing::ProgramPair& pair) {
        // Within 4096 every label takes the same form both ways, and
        // threading never lengthens it. (Within 64 a faster form that fits
        // only threaded may be longer; so may, behind Ethernet, a copy per
        // 802.1Q layout.)
        if (pair.options.fit_within == 4096 && pair.options.link.type == LinkType::Raw) {
          ASSERT_LE(pair.now.instructions.size(), pair.before.instructions.size()) << pair.label.text;
        }
      });
  std::printf("%s: %zu programs, %zu changed by threading, %zu of them smaller; %zu verdicts compared, %zu accepted\n",
              path.c_str(), counts.programs, counts.changed, counts.smaller, counts.packets, counts.accepted);
  EXPECT_GT(counts.changed, counts.programs / 4);
  EXPECT_GT(counts.accepted, counts.packets / 20);
}

TEST(JumpThreadingEquivalence, EveryLabelOfP0fFp) { compare_database("/etc/p0f/p0f.fp"); }

TEST(JumpThreadingEquivalence, EveryLabelOfTheBundledDatabase) {
  compare_database(std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp");
}

}  // namespace
}  // namespace p0fbpf
