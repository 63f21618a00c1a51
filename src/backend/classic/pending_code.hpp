// Code generation's working form: BPF instructions whose jump targets are
// still labels, with label markers between them. The generator writes it,
// block merging and jump layout rework it, and jump layout turns it into a
// BpfProgram.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include <pcap/bpf.h>

namespace p0fbpf {

// What an instruction checks: one string shared by all the instructions
// that check it (a few dozen texts over a few hundred thousand
// instructions for thousands of signatures), owned by the code generator,
// which outlives the pending code; null for none. A plain pointer keeps
// each pending instruction at 32 bytes.
using SharedComment = const std::string*;

struct PendingInstruction {
  bpf_insn insn{};
  int true_label = -1;   // conditional jumps and ja
  int false_label = -1;  // conditional jumps
  int label_here = -1;   // >= 0: a label marker, not an instruction
  SharedComment comment = nullptr;

  bool is_label() const { return label_here >= 0; }
  bool is_jump() const { return !is_label() && true_label >= 0; }
  bool is_unconditional_jump() const { return is_jump() && BPF_OP(insn.code) == BPF_JA; }
  // A jump or a return: control does not simply go on to the next
  // instruction.
  bool ends_block() const { return !is_label() && (true_label >= 0 || BPF_CLASS(insn.code) == BPF_RET); }
};

using PendingCode = std::vector<PendingInstruction>;

// One past the largest label the code places or jumps to: how many labels
// a pass indexes, and the first it may add.
inline int label_count(const PendingCode& code) {
  int labels = 0;
  for (const PendingInstruction& p : code) {
    labels = std::max({labels, p.label_here + 1, p.true_label + 1, p.false_label + 1});
  }
  return labels;
}

// Where each label's marker stands in the code (`missing` for a label that
// has none).
inline std::vector<std::size_t> label_positions(const PendingCode& code, std::size_t missing) {
  std::vector<std::size_t> at(static_cast<std::size_t>(label_count(code)), missing);
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (code[i].is_label()) at[static_cast<std::size_t>(code[i].label_here)] = i;
  }
  return at;
}

inline PendingInstruction label_marker(int label) {
  PendingInstruction marker;
  marker.label_here = label;
  return marker;
}

}  // namespace p0fbpf
