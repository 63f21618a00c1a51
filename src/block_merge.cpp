#include "block_merge.hpp"

#include <algorithm>
#include <cstddef>

namespace p0fbpf {
namespace {

bool merge_one_pair(PendingCode& code_) {
  struct Block {
    std::size_t begin, first_instruction, end;  // [begin, end) in code_
  };
  std::vector<Block> blocks;
  for (std::size_t i = 0; i < code_.size();) {
    if (code_[i].label_here < 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < code_.size() && code_[j].label_here >= 0) ++j;
    std::size_t k = j;
    while (k < code_.size() && code_[k].label_here < 0 && code_[k].true_label < 0 &&
           BPF_CLASS(code_[k].insn.code) != BPF_RET) {
      ++k;
    }
    if (k < code_.size() && code_[k].label_here < 0) blocks.push_back({i, j, k + 1});
    i = std::max(j, i + 1);
  }
  auto same = [&](const Block& a, const Block& b) {
    if (a.end - a.first_instruction != b.end - b.first_instruction) return false;
    for (std::size_t n = 0; n < a.end - a.first_instruction; ++n) {
      const PendingInstruction& x = code_[a.first_instruction + n];
      const PendingInstruction& y = code_[b.first_instruction + n];
      if (x.insn.code != y.insn.code || x.insn.k != y.insn.k || x.true_label != y.true_label ||
          x.false_label != y.false_label || x.label_here >= 0 || y.label_here >= 0) {
        return false;
      }
    }
    return true;
  };
  auto falls_into = [&](const Block& b) {
    for (std::size_t i = b.begin; i-- > 0;) {
      if (code_[i].label_here >= 0) continue;
      const bpf_insn& insn = code_[i].insn;
      return !(BPF_CLASS(insn.code) == BPF_RET || code_[i].true_label >= 0);
    }
    return false;
  };
  for (std::size_t a = 0; a < blocks.size(); ++a) {
    if (falls_into(blocks[a])) continue;
    for (std::size_t b = a + 1; b < blocks.size(); ++b) {
      if (!same(blocks[a], blocks[b])) continue;
      int keep = code_[blocks[b].begin].label_here;
      for (std::size_t m = blocks[a].begin; m < blocks[a].first_instruction; ++m) {
        int gone = code_[m].label_here;
        for (PendingInstruction& p : code_) {
          if (p.true_label == gone) p.true_label = keep;
          if (p.false_label == gone) p.false_label = keep;
        }
      }
      code_.erase(code_.begin() + static_cast<std::ptrdiff_t>(blocks[a].begin),
                  code_.begin() + static_cast<std::ptrdiff_t>(blocks[a].end));
      return true;
    }
  }
  return false;
}

}  // namespace

PendingCode merge_identical_blocks(PendingCode code) {
  while (merge_one_pair(code)) {
  }
  return code;
}

}  // namespace p0fbpf
