// Jump offsets for a translated program of any length. eBPF's conditional
// jumps reach 32,767 instructions (a 16-bit offset); farther ones become a
// short jump over a long one ("gotol": BPF_JMP32 | BPF_JA with a 32-bit
// immediate, since Linux 6.4), and unconditional jumps that far are gotol
// themselves.
//
// The reach is counted as the kernel will have the program: it rewrites a
// socket filter's LD_ABS and LD_IND into several instructions each
// (bpf_gen_ld_abs), and refuses to load (ENOMEM, "cannot be patched due to
// 16-bit range") when that pushes a 16-bit jump out of reach. gotol's
// 32-bit offsets it adjusts.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "backend/ebpf/translate.hpp"

namespace p0fbpf::ebpf {

// What a socket filter's packet load becomes in the kernel, at most: r2 =
// the offset (two for LD_IND with an offset), r1 = the context, the call,
// and the give-up test: if r0 < 0, return 0.
inline constexpr std::size_t kKernelPacketLoadLength = 7;

// The most instructions a program to plan may have: each may become three,
// and the kernel may count kKernelPacketLoadLength + 2 for it, and every
// jump offset must still fit 32 bits.
inline constexpr std::size_t kMaxPlannedInstructions =
    static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()) / (kKernelPacketLoadLength + 2);

// An instruction's index, in the program or as the kernel counts it: below
// kMaxPlannedInstructions times 9, so 32 bits hold it. Half of a size_t:
// the plan keeps a few of these per instruction, and a large selection has
// a few hundred thousand instructions.
using PlanIndex = std::uint32_t;
inline constexpr PlanIndex kNoTarget = std::numeric_limits<PlanIndex>::max();

struct JumpPlan {
  std::vector<Instruction> instructions;
  std::vector<std::uint8_t> length;  // per input instruction: how many it became (1 to 3)
};

// `targets[i]`: the index in `code` that jump i goes to (forward), or
// kNoTarget. Jumps without a target that have an offset (a fixed skip over
// the next few instructions) keep their destination too. Throws
// std::length_error when the program is too long for any jump (over
// kMaxPlannedInstructions).
JumpPlan plan_jumps(const std::vector<Instruction>& code, std::vector<PlanIndex> targets, Target target);

}  // namespace p0fbpf::ebpf
