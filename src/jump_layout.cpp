#include "jump_layout.hpp"

#include <cstddef>
#include <unordered_map>

namespace p0fbpf {

BpfProgram lay_out_jumps(PendingCode code_, int next_label) {
  while (true) {
    std::unordered_map<int, std::size_t> at;  // label -> instruction index
    std::vector<std::size_t> index(code_.size());
    std::size_t count = 0;
    for (std::size_t i = 0; i < code_.size(); ++i) {
      if (code_[i].label_here >= 0) at[code_[i].label_here] = count;
      else index[i] = count++;
    }
    bool changed = false;
    for (std::size_t i = 0; i < code_.size() && !changed; ++i) {
      PendingInstruction& p = code_[i];
      if (p.label_here >= 0 || p.true_label < 0) continue;
      std::size_t next = index[i] + 1;
      if (BPF_OP(p.insn.code) == BPF_JA) {
        if (at.at(p.true_label) == next) {
          code_.erase(code_.begin() + static_cast<std::ptrdiff_t>(i));
          changed = true;
        }
        continue;
      }
      // Conditional jumps reach 255 instructions; farther targets go
      // through an unconditional jump placed right after.
      for (int* label : {&p.true_label, &p.false_label}) {
        if (at.at(*label) - next > kMaxConditionalJump) {
          int far = *label;
          int near = next_label++;
          *label = near;
          PendingInstruction ja;
          ja.insn.code = BPF_JMP | BPF_JA;
          ja.true_label = far;
          ja.comment = "(far jump)";
          auto pos = code_.begin() + static_cast<std::ptrdiff_t>(i) + 1;
          pos = code_.insert(pos, std::move(ja));
          code_.insert(pos, label_marker(near));
          changed = true;
          break;
        }
      }
    }
    if (changed) continue;

    BpfProgram out;
    for (std::size_t i = 0; i < code_.size(); ++i) {
      const PendingInstruction& p = code_[i];
      if (p.label_here >= 0) continue;
      bpf_insn insn = p.insn;
      std::size_t next = index[i] + 1;
      if (p.true_label >= 0 && BPF_OP(insn.code) == BPF_JA) {
        insn.k = static_cast<std::uint32_t>(at.at(p.true_label) - next);
      } else if (p.true_label >= 0) {
        insn.jt = static_cast<std::uint8_t>(at.at(p.true_label) - next);
        insn.jf = static_cast<std::uint8_t>(at.at(p.false_label) - next);
      }
      out.instructions.push_back(insn);
      out.comments.push_back(p.comment);
    }
    return out;
  }
}

}  // namespace p0fbpf
