#include "backend/classic/jump_layout.hpp"

#include <cstddef>
#include <set>
#include <stdexcept>
#include <unordered_map>

namespace p0fbpf {
namespace {

// Counts of present instructions over slots, with prefix sums in log time.
class PresenceCounts {
 public:
  explicit PresenceCounts(std::size_t slots) : tree_(slots + 1, 0) {}
  void add(std::size_t slot, int delta) {
    for (std::size_t i = slot + 1; i < tree_.size(); i += i & (~i + 1)) tree_[i] += delta;
  }
  // Present instructions in the slots before `slot`.
  std::size_t before(std::size_t slot) const {
    long sum = 0;
    for (std::size_t i = slot; i > 0; i -= i & (~i + 1)) sum += tree_[i];
    return static_cast<std::size_t>(sum);
  }

 private:
  std::vector<long> tree_;
};

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

// Every instruction, label marker and possible far jump has a slot, in code
// order: a conditional jump is followed by two slots for the unconditional
// jumps its targets may need. A target is the slot of a label marker or of
// a far jump (the label placed right before it); its position is the
// number of instructions present in the slots before it.
struct Slot {
  PendingInstruction instruction;
  bool present = false;  // an instruction that is (still) in the program
  std::size_t true_target = kNone;
  std::size_t false_target = kNone;
  std::size_t previous = kNone, next = kNone;  // present neighbours
  int far_jumps = 0;  // of a conditional jump, placed so far
};

class JumpLayout {
 public:
  explicit JumpLayout(PendingCode code) {
    std::unordered_map<int, std::size_t> label_slot;
    for (PendingInstruction& p : code) {
      if (p.is_label()) label_slot[p.label_here] = slots_.size();
      Slot slot;
      slot.present = !p.is_label();
      slot.instruction = std::move(p);
      bool conditional = slot.instruction.is_jump() && !slot.instruction.is_unconditional_jump();
      slots_.push_back(std::move(slot));
      if (conditional) slots_.resize(slots_.size() + 2);
    }
    for (Slot& slot : slots_) {
      if (!slot.instruction.is_jump()) continue;
      slot.true_target = label_slot.at(slot.instruction.true_label);
      if (!slot.instruction.is_unconditional_jump()) slot.false_target = label_slot.at(slot.instruction.false_label);
    }
    counts_ = PresenceCounts(slots_.size());
    std::size_t previous = kNone;
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      if (!slots_[s].present) continue;
      counts_.add(s, 1);
      slots_[s].previous = previous;
      if (previous != kNone) slots_[previous].next = s;
      previous = s;
      if (slots_[s].instruction.is_jump()) to_check_.insert(s);
    }
  }

  // The changes happen in the order of a scan from the start that makes
  // the first change it finds and starts again: a change makes the next
  // ones only at or before its own place (a jump inserted lengthens the
  // conditional jumps across it, a jump dropped may leave the jump before
  // it pointing at the next instruction), so those places are checked
  // again, nearest the start first.
  BpfProgram run() {
    while (!to_check_.empty()) {
      std::size_t s = *to_check_.begin();
      to_check_.erase(to_check_.begin());
      if (slots_[s].present && slots_[s].instruction.is_jump()) check(s);
    }
    return program();
  }

 private:
  std::size_t position(std::size_t slot) const { return counts_.before(slot); }

  void check(std::size_t s) {
    Slot& slot = slots_[s];
    std::size_t next = position(s) + 1;
    if (slot.instruction.is_unconditional_jump()) {
      if (position(slot.true_target) == next) drop(s);
      return;
    }
    // Conditional jumps reach 255 instructions; farther targets go through
    // an unconditional jump placed right after.
    if (position(slot.true_target) - next > kMaxConditionalJump) {
      slot.true_target = place_far_jump(s, slot.true_target, slot.instruction.true_label);
    } else if (position(slot.false_target) - next > kMaxConditionalJump) {
      slot.false_target = place_far_jump(s, slot.false_target, slot.instruction.false_label);
    }
  }

  void drop(std::size_t s) {
    Slot& slot = slots_[s];
    slot.present = false;
    counts_.add(s, -1);
    if (slot.previous != kNone) slots_[slot.previous].next = slot.next;
    if (slot.next != kNone) slots_[slot.next].previous = slot.previous;
    if (slot.previous != kNone) to_check_.insert(slot.previous);
  }

  // Right after the conditional jump at `s`, before the far jumps it has.
  std::size_t place_far_jump(std::size_t s, std::size_t target, int label) {
    std::size_t f = s + 2 - static_cast<std::size_t>(slots_[s].far_jumps++);
    Slot& far = slots_[f];
    far.instruction.insn.code = BPF_JMP | BPF_JA;
    far.instruction.true_label = label;
    far.instruction.comment = "(far jump)";
    far.true_target = target;
    far.present = true;
    counts_.add(f, 1);
    far.previous = s;
    far.next = slots_[s].next;
    if (far.next != kNone) slots_[far.next].previous = f;
    slots_[s].next = f;
    to_check_.insert(s);
    to_check_.insert(f);
    // Conditional jumps up to 255 instructions before, across this one, may
    // now reach too far.
    std::size_t before = slots_[s].previous;
    for (std::size_t n = 0; n <= kMaxConditionalJump && before != kNone; ++n) {
      const Slot& earlier = slots_[before];
      bool across = earlier.true_target > s || (earlier.false_target != kNone && earlier.false_target > s);
      if (earlier.instruction.is_jump() && !earlier.instruction.is_unconditional_jump() && across) {
        to_check_.insert(before);
      }
      before = earlier.previous;
    }
    return f;
  }

  BpfProgram program() const {
    BpfProgram out;
    std::vector<std::size_t> at(slots_.size() + 1, 0);  // instructions before each slot
    for (std::size_t s = 0; s < slots_.size(); ++s) at[s + 1] = at[s] + (slots_[s].present ? 1 : 0);
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      const Slot& slot = slots_[s];
      if (!slot.present) continue;
      bpf_insn insn = slot.instruction.insn;
      std::size_t next = at[s] + 1;
      if (slot.instruction.is_unconditional_jump()) {
        insn.k = static_cast<std::uint32_t>(at[slot.true_target] - next);
      } else if (slot.instruction.is_jump()) {
        insn.jt = static_cast<std::uint8_t>(at[slot.true_target] - next);
        insn.jf = static_cast<std::uint8_t>(at[slot.false_target] - next);
      }
      out.instructions.push_back(insn);
      out.comments.push_back(slot.instruction.comment);
    }
    return out;
  }

  std::vector<Slot> slots_;
  PresenceCounts counts_{0};
  std::set<std::size_t> to_check_;  // jumps to check again, by slot
};

}  // namespace

BpfProgram lay_out_jumps(PendingCode code) { return JumpLayout(std::move(code)).run(); }

}  // namespace p0fbpf
