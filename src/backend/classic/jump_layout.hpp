// Code generation's last step: label targets become BPF jump offsets.
#pragma once

#include "p0fbpf/bpf_program.hpp"
#include "backend/classic/pending_code.hpp"

namespace p0fbpf {

inline constexpr std::uint32_t kMaxConditionalJump = 255;

// Places the instructions and resolves every label to an offset. An
// unconditional jump to the very next instruction is dropped; a conditional
// jump whose target lies more than 255 instructions ahead goes through an
// unconditional jump placed right after it. An unconditional jump that
// lands on others goes straight to where they lead, and one that leads to
// a return is a copy of that return. Without `comments`, the program's
// comments stay empty.
BpfProgram lay_out_jumps(PendingCode code, bool comments = true);

// The most instructions lay_out_jumps can make of `code`, without laying it
// out: every instruction, and a far jump for each target of a conditional
// jump that could lie more than 255 instructions ahead, if everything
// between them got its far jumps.
std::size_t most_laid_out_size(const PendingCode& code);

}  // namespace p0fbpf
