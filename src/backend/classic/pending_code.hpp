// Code generation's working form: BPF instructions whose jump targets are
// still labels, with label markers between them. The generator writes it,
// block merging and jump layout rework it, and jump layout turns it into a
// BpfProgram.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <pcap/bpf.h>

namespace p0fbpf {

// What an instruction checks: one string shared by all the instructions
// that check it (a few dozen texts over a few hundred thousand
// instructions for thousands of signatures), owned by the code generator,
// which outlives the pending code; null for none. A plain pointer keeps
// each pending instruction at 24 bytes.
using SharedComment = const std::string*;

// 24 bytes: code generation holds up to three versions of a program's
// pending code at once (merged, threaded, with search trees), about
// 100,000 entries each for 1,000 signatures.
struct PendingInstruction {
  // A label marker is no instruction: this code, which no classic
  // instruction has (their codes are 8 bits), and its label in insn.k.
  static constexpr std::uint16_t kLabelCode = 0xffff;

  bpf_insn insn{};
  int true_label = -1;   // conditional jumps and ja
  int false_label = -1;  // conditional jumps
  SharedComment comment = nullptr;

  bool is_label() const { return insn.code == kLabelCode; }
  // The label a marker places; -1 for an instruction.
  int label_here() const { return is_label() ? static_cast<int>(insn.k) : -1; }
  bool is_jump() const { return !is_label() && true_label >= 0; }
  bool is_unconditional_jump() const { return is_jump() && BPF_OP(insn.code) == BPF_JA; }
  // A jump or a return: control does not simply go on to the next
  // instruction.
  bool ends_block() const { return !is_label() && (true_label >= 0 || BPF_CLASS(insn.code) == BPF_RET); }
};

static_assert(sizeof(PendingInstruction) == 24);

// The jf of an instruction that reads X or reloads it from scratch memory,
// in pending code (classic BPF reads jt and jf of jumps only; jump layout
// writes 0 there): X holds the link shift (after it, for the reload), the
// value the framing worked out for the frame, which no later instruction
// changes (a branch's reads come after its framing, or after the program's:
// Program::framing). An indexed load so marked reads the same bytes
// wherever it runs, as an absolute load does, and `A - X` is the same
// value; a marked reload where X already holds the shift changes nothing.
// Jump threading relies on it.
constexpr std::uint8_t kXHoldsLinkShift = 1;

inline bool x_holds_link_shift(const bpf_insn& insn) {
  bool uses_x = (BPF_CLASS(insn.code) == BPF_LD && BPF_MODE(insn.code) == BPF_IND) ||
                (BPF_CLASS(insn.code) == BPF_ALU && BPF_SRC(insn.code) == BPF_X) ||
                (BPF_CLASS(insn.code) == BPF_LDX && BPF_MODE(insn.code) == BPF_MEM);
  return uses_x && insn.jf == kXHoldsLinkShift;
}

using PendingCode = std::vector<PendingInstruction>;

// One past the largest label the code places or jumps to: how many labels
// a pass indexes, and the first it may add.
inline int label_count(const PendingCode& code) {
  int labels = 0;
  for (const PendingInstruction& p : code) {
    labels = std::max({labels, p.label_here() + 1, p.true_label + 1, p.false_label + 1});
  }
  return labels;
}

// Where each label's marker stands in the code (`missing` for a label that
// has none).
inline std::vector<std::size_t> label_positions(const PendingCode& code, std::size_t missing) {
  std::vector<std::size_t> at(static_cast<std::size_t>(label_count(code)), missing);
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (code[i].is_label()) at[static_cast<std::size_t>(code[i].label_here())] = i;
  }
  return at;
}

inline PendingInstruction label_marker(int label) {
  PendingInstruction marker;
  marker.insn.code = PendingInstruction::kLabelCode;
  marker.insn.k = static_cast<std::uint32_t>(label);
  return marker;
}

}  // namespace p0fbpf
