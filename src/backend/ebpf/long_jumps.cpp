#include "backend/ebpf/long_jumps.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

namespace p0fbpf::ebpf {
namespace {

constexpr std::uint8_t kClassMask = 0x07;
constexpr std::uint8_t kOpMask = 0xf0;
constexpr std::uint8_t kJmp = 0x05;   // BPF_JMP
constexpr std::uint8_t kJa = 0x00;    // BPF_JA
constexpr std::uint8_t kJeq = 0x10, kJgt = 0x20, kJge = 0x30;  // BPF_JSET (0x40) has no inverse
constexpr std::uint8_t kLd = 0x00, kAbs = 0x20, kInd = 0x40, kModeMask = 0xe0;
// A 16-bit jump is kept only within half its range: the verifier rewrites
// more than what kernel_length() counts (an array map's lookup inlined, a
// division's check for zero), and a jump those rewrites push past 32,767
// fails the load ("cannot be patched due to 16-bit range").
constexpr std::int64_t kShortReach = std::numeric_limits<std::int16_t>::max() / 2;

// The verifier follows a conditional jump's fall-through first and keeps
// the jump's target on a stack of states to come back to, at most 8,192 of
// them ("The sequence of 8193 jumps is too complex"). In a chain of
// signatures each check that fails jumps to the next signature: explored
// the verifier's way, every check of every signature before waits on the
// stack. Conditions that jump farther than this are inverted to fall
// through to a jump to their target, so that the far side (the next
// signature, the give-up and accept paths) goes first and what waits is
// one state per signature.
constexpr std::int64_t kFarFirstReach = 32;

bool is_jump_class(const Instruction& insn) {
  std::uint8_t cls = insn.code & kClassMask;
  return cls == kJmp || cls == isa::kJmp32;
}

bool is_transfer(const Instruction& insn) {
  std::uint8_t op = insn.code & kOpMask;
  return is_jump_class(insn) && op != isa::kCall && op != isa::kExit;
}

bool is_unconditional(const Instruction& insn) { return (insn.code & kOpMask) == kJa; }

// The condition that is true exactly when insn's is false; none for JSET.
std::optional<std::uint8_t> inverse(std::uint8_t op) {
  switch (op) {
    case kJeq: return isa::kJne;
    case isa::kJne: return kJeq;
    case kJgt: return isa::kJle;
    case isa::kJle: return kJgt;
    case kJge: return isa::kJlt;
    case isa::kJlt: return kJge;
  }
  return std::nullopt;
}

// Instructions the kernel makes of one of ours.
std::size_t kernel_length(const Instruction& insn, Target target) {
  std::uint8_t mode = insn.code & kModeMask;
  bool packet_load = (insn.code & kClassMask) == kLd && (mode == kAbs || mode == kInd);
  if (target == Target::SocketFilter && packet_load) return kKernelPacketLoadLength;
  // A division or remainder by a register gets a check for zero: a few
  // instructions more.
  std::uint8_t cls = insn.code & kClassMask, op = insn.code & kOpMask;
  bool alu = cls == 0x04 || cls == 0x07;  // BPF_ALU, BPF_ALU64
  if (alu && (op == 0x30 || op == 0x90) && (insn.code & 0x08)) return 6;  // BPF_DIV, BPF_MOD, BPF_X
  return 1;
}

std::size_t long_length(const Instruction& insn) {
  if (is_unconditional(insn)) return 1;
  return inverse(insn.code & kOpMask) ? 2 : 3;
}

Instruction gotol(std::int64_t offset) {
  Instruction insn;
  insn.code = isa::kJmp32 | kJa;
  insn.imm = static_cast<std::int32_t>(offset);
  return insn;
}

// A jump of `offset` instructions (ours), `kernel_reach` as the kernel will
// count it: BPF_JA with its 16-bit offset where that reaches, which every
// kernel runs; gotol only beyond, which needs Linux 6.4.
Instruction jump(std::int64_t offset, std::int64_t kernel_reach) {
  if (kernel_reach > kShortReach) return gotol(offset);
  Instruction insn;
  insn.code = kJmp | kJa;
  insn.offset = static_cast<std::int16_t>(offset);
  return insn;
}

}  // namespace

JumpPlan plan_jumps(const std::vector<Instruction>& code, std::vector<PlanIndex> targets, Target target) {
  const std::size_t n = code.size();
  if (n > kMaxPlannedInstructions) {
    throw std::length_error(fmt::format("{} eBPF instructions: too many for any jump", n));
  }
  targets.resize(n, kNoTarget);
  for (std::size_t i = 0; i < n; ++i) {
    if (targets[i] != kNoTarget || !is_transfer(code[i]) || code[i].offset == 0) continue;
    // Forward skips only: one that goes back or past the end is caught
    // below (as n, past the end, when it would leave the program's start).
    targets[i] = static_cast<PlanIndex>(std::min(i + 1 + static_cast<std::size_t>(code[i].offset), n));
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (targets[i] != kNoTarget && (targets[i] <= i || targets[i] >= n)) {
      throw std::logic_error(fmt::format("eBPF instruction {} jumps to {}, not forward in the program", i, targets[i]));
    }
  }

  // Lengths only grow, so this ends: at the latest when every conditional
  // jump is long. Positions fit 32 bits: at most 3 instructions, and 9 as
  // the kernel counts them, per instruction (kMaxPlannedInstructions).
  JumpPlan plan;
  plan.length.assign(n, 1);
  std::vector<PlanIndex> at(n + 1), kernel_at(n + 1);
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < n; ++i) {
      at[i + 1] = at[i] + plan.length[i];
      kernel_at[i + 1] = static_cast<PlanIndex>(kernel_at[i] + kernel_length(code[i], target) + plan.length[i] - 1);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (targets[i] == kNoTarget || plan.length[i] > 1 || is_unconditional(code[i])) continue;
      auto reach = static_cast<std::int64_t>(kernel_at[targets[i]] - kernel_at[i + 1]);
      bool far_first = reach > kFarFirstReach && inverse(code[i].code & kOpMask);
      if (reach > kShortReach || far_first) {
        plan.length[i] = static_cast<std::uint8_t>(long_length(code[i]));
        changed = true;
      }
    }
  }

  plan.instructions.reserve(at[n]);
  for (std::size_t i = 0; i < n; ++i) {
    Instruction insn = code[i];
    if (targets[i] == kNoTarget) {
      plan.instructions.push_back(insn);
      continue;
    }
    // From the end of this instruction's instructions, which is where the
    // long jump of a long form ends too.
    auto offset = static_cast<std::int64_t>(at[targets[i]] - at[i + 1]);
    auto kernel_reach = static_cast<std::int64_t>(kernel_at[targets[i]] - kernel_at[i + 1]);
    if (plan.length[i] == 1 && is_unconditional(insn) && kernel_reach > kShortReach) {
      plan.instructions.push_back(gotol(offset));
    } else if (plan.length[i] == 1) {
      insn.offset = static_cast<std::int16_t>(offset);
      plan.instructions.push_back(insn);
    } else if (plan.length[i] == 2) {
      insn.code = static_cast<std::uint8_t>((insn.code & ~kOpMask) | *inverse(insn.code & kOpMask));
      insn.offset = 1;  // over the long jump: the condition does not hold
      plan.instructions.push_back(insn);
      plan.instructions.push_back(jump(offset, kernel_reach));
    } else {
      insn.offset = 1;  // to the long jump: the condition holds
      plan.instructions.push_back(insn);
      Instruction skip;
      skip.code = kJmp | kJa;
      skip.offset = 1;
      plan.instructions.push_back(skip);
      plan.instructions.push_back(jump(offset, kernel_reach));
    }
  }
  return plan;
}

}  // namespace p0fbpf::ebpf
