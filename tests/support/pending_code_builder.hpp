// Pending instructions for the tests of code generation's parts.
#pragma once

#include <cstdint>

#include "backend/classic/pending_code.hpp"

namespace p0fbpf::testing {

inline PendingInstruction plain(std::uint16_t code, std::uint32_t k) {
  PendingInstruction p;
  p.insn.code = code;
  p.insn.k = k;
  return p;
}

// A conditional jump of A against k: `op` is BPF_JEQ, BPF_JGT, BPF_JGE or
// BPF_JSET.
inline PendingInstruction jump(std::uint16_t op, std::uint32_t k, int on_true, int on_false) {
  PendingInstruction p = plain(static_cast<std::uint16_t>(BPF_JMP | op | BPF_K), k);
  p.true_label = on_true;
  p.false_label = on_false;
  return p;
}

inline PendingInstruction jeq(std::uint32_t k, int on_true, int on_false) { return jump(BPF_JEQ, k, on_true, on_false); }

inline PendingInstruction ld_byte(std::uint32_t offset) { return plain(BPF_LD | BPF_B | BPF_ABS, offset); }
inline PendingInstruction ld_word(std::uint32_t offset) { return plain(BPF_LD | BPF_W | BPF_ABS, offset); }

inline PendingInstruction ja(int target) {
  PendingInstruction p = plain(BPF_JMP | BPF_JA, 0);
  p.true_label = target;
  return p;
}

inline PendingInstruction ret(std::uint32_t k) { return plain(BPF_RET | BPF_K, k); }

}  // namespace p0fbpf::testing
