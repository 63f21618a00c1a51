#include "backend/classic/jump_layout.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/release.hpp"

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
    std::int64_t sum = 0;
    for (std::size_t i = slot; i > 0; i -= i & (~i + 1)) sum += tree_[i];
    return static_cast<std::size_t>(sum);
  }
  // The slot of the present instruction at `position`: the last slot with
  // `position` present ones before it.
  std::size_t slot_at(std::size_t position) const {
    std::size_t slot = 0;
    auto left = static_cast<std::int64_t>(position);
    std::size_t step = 1;
    while (step * 2 < tree_.size()) step *= 2;
    for (; step > 0; step /= 2) {
      if (slot + step < tree_.size() && tree_[slot + step] <= left) {
        slot += step;
        left -= tree_[slot];
      }
    }
    return slot;
  }

 private:
  std::vector<std::int32_t> tree_;
};

using SlotIndex = std::uint32_t;
constexpr SlotIndex kNone = UINT32_MAX;

// Every instruction, label marker and possible far jump has a slot, in code
// order: a conditional jump is followed by two slots for the unconditional
// jumps its targets may need. A target is the slot of a label marker or of
// a far jump (the label placed right before it); its position is the
// number of instructions present in the slots before it. A slot names its
// instruction in the code by index (a far jump has none), so that a slot
// stays a few words whatever the instruction's comment: selections of
// thousands of signatures have a few hundred thousand slots. 16 bytes: the
// present neighbours are found through the presence counts, not kept.
struct Slot {
  SlotIndex source = kNone;  // the instruction or label marker in the code; kNone: a far jump's slot
  SlotIndex true_target = kNone;
  SlotIndex false_target = kNone;
  std::uint8_t far_jumps = 0;  // of a conditional jump, placed so far
  bool present = false;        // an instruction that is (still) in the program
};
static_assert(sizeof(Slot) == 16);

// The slots still to check, smallest first, each at most once (a set's
// order, in a flat heap).
class CheckQueue {
 public:
  explicit CheckQueue(std::size_t slots) : queued_(slots, false) {}
  bool empty() const { return heap_.empty(); }
  void insert(SlotIndex s) {
    if (queued_[s]) return;
    queued_[s] = true;
    heap_.push_back(s);
    std::push_heap(heap_.begin(), heap_.end(), std::greater<>());
  }
  SlotIndex take_first() {
    std::pop_heap(heap_.begin(), heap_.end(), std::greater<>());
    SlotIndex s = heap_.back();
    heap_.pop_back();
    queued_[s] = false;
    return s;
  }

 private:
  std::vector<SlotIndex> heap_;
  std::vector<bool> queued_;
};

class JumpLayout {
 public:
  JumpLayout(PendingCode code, bool comments) : code_(std::move(code)), comments_(comments) {
    if (code_.size() >= kNone / 3) throw std::length_error("program too large to lay out");
    std::size_t slot_count = code_.size();
    std::size_t label_count = 0;
    std::unordered_map<int, SlotIndex> label_slot;
    for (const PendingInstruction& p : code_) {
      if (is_conditional(p)) slot_count += 2;
      if (p.is_label()) ++label_count;
    }
    slots_.reserve(slot_count);
    label_slot.reserve(label_count);
    for (std::size_t i = 0; i < code_.size(); ++i) {
      const PendingInstruction& p = code_[i];
      if (p.is_label()) label_slot[p.label_here()] = static_cast<SlotIndex>(slots_.size());
      Slot slot;
      slot.present = !p.is_label();
      slot.source = static_cast<SlotIndex>(i);
      slots_.push_back(slot);
      if (is_conditional(p)) slots_.resize(slots_.size() + 2);
    }
    for (Slot& slot : slots_) {
      if (!is_jump(slot)) continue;
      const PendingInstruction& p = code_[slot.source];
      slot.true_target = label_slot.at(p.true_label);
      if (!p.is_unconditional_jump()) slot.false_target = label_slot.at(p.false_label);
    }
    release(label_slot);
    counts_ = PresenceCounts(slots_.size());
    to_check_ = CheckQueue(slots_.size());
    for (SlotIndex s = 0; s < slots_.size(); ++s) {
      if (!slots_[s].present) continue;
      counts_.add(s, 1);
      if (is_jump(slots_[s])) to_check_.insert(s);
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
      SlotIndex s = to_check_.take_first();
      if (slots_[s].present && is_jump(slots_[s])) check(s);
    }
    // The program is written without them, beside its own copy.
    to_check_ = CheckQueue(0);
    counts_ = PresenceCounts(0);
    return program();
  }

 private:
  static bool is_conditional(const PendingInstruction& p) { return p.is_jump() && !p.is_unconditional_jump(); }
  // Far jumps have no source; they are unconditional jumps once placed.
  bool is_far_jump(const Slot& slot) const { return slot.source == kNone; }
  bool is_jump(const Slot& slot) const { return is_far_jump(slot) ? slot.present : code_[slot.source].is_jump(); }
  bool is_conditional(const Slot& slot) const { return !is_far_jump(slot) && is_conditional(code_[slot.source]); }
  bool is_unconditional_jump(const Slot& slot) const { return is_jump(slot) && !is_conditional(slot); }

  std::size_t position(SlotIndex slot) const { return counts_.before(slot); }

  // The present slot before `s` (present or not); kNone at the start.
  SlotIndex previous_present(SlotIndex s) const {
    std::size_t before = position(s);
    return before == 0 ? kNone : static_cast<SlotIndex>(counts_.slot_at(before - 1));
  }

  void check(SlotIndex s) {
    Slot& slot = slots_[s];
    std::size_t next = position(s) + 1;
    if (!is_conditional(slot)) {
      if (position(slot.true_target) == next) drop(s);
      return;
    }
    // Conditional jumps reach 255 instructions; farther targets go through
    // an unconditional jump placed right after.
    if (position(slot.true_target) - next > kMaxConditionalJump) {
      slot.true_target = place_far_jump(s, slot.true_target);
    } else if (position(slot.false_target) - next > kMaxConditionalJump) {
      slot.false_target = place_far_jump(s, slot.false_target);
    }
  }

  void drop(SlotIndex s) {
    slots_[s].present = false;
    counts_.add(s, -1);
    if (SlotIndex previous = previous_present(s); previous != kNone) to_check_.insert(previous);
  }

  // Right after the conditional jump at `s`, before the far jumps it has.
  SlotIndex place_far_jump(SlotIndex s, SlotIndex target) {
    SlotIndex f = s + 2 - slots_[s].far_jumps++;
    Slot& far = slots_[f];
    far.true_target = target;
    far.present = true;
    counts_.add(f, 1);
    to_check_.insert(s);
    to_check_.insert(f);
    // Conditional jumps up to 255 instructions before, across this one, may
    // now reach too far. The slots between present ones are label markers,
    // dropped jumps and unused far jump slots: a few per instruction.
    std::size_t n = 0;
    for (SlotIndex before = s; before > 0 && n <= kMaxConditionalJump;) {
      const Slot& earlier = slots_[--before];
      if (!earlier.present) continue;
      ++n;
      bool across = earlier.true_target > s || (earlier.false_target != kNone && earlier.false_target > s);
      if (is_conditional(earlier) && across) to_check_.insert(before);
    }
    return f;
  }

  BpfProgram program() {
    BpfProgram out;
    std::vector<SlotIndex> at(slots_.size() + 1, 0);  // instructions before each slot
    std::vector<SlotIndex> placed;                     // the present slots, in order
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      at[s + 1] = at[s] + (slots_[s].present ? 1 : 0);
      if (slots_[s].present) placed.push_back(static_cast<SlotIndex>(s));
    }
    out.instructions.reserve(at.back());
    if (comments_) out.comments.reserve(at.back());
    static const std::string far_jump = "(far jump)", none;
    // A far jump's comment when `p` is null.
    auto comment_of = [](const PendingInstruction* p) -> const std::string& {
      return !p ? far_jump : p->comment ? *p->comment : none;
    };
    auto emit = [&](const bpf_insn& insn, const std::string& comment) {
      out.instructions.push_back(insn);
      if (comments_) out.comments.push_back(comment);
    };
    for (std::size_t s = 0; s < slots_.size(); ++s) {
      const Slot& slot = slots_[s];
      if (!slot.present) continue;
      std::size_t next = at[s] + 1;
      const PendingInstruction* p = is_far_jump(slot) ? nullptr : &code_[slot.source];
      if (is_conditional(slot)) {
        bpf_insn insn = p->insn;
        insn.jt = static_cast<std::uint8_t>(at[slot.true_target] - next);
        insn.jf = static_cast<std::uint8_t>(at[slot.false_target] - next);
        emit(insn, comment_of(p));
      } else if (is_jump(slot)) {
        // An unconditional jump goes where the unconditional jumps it lands
        // on lead (its offset reaches anywhere); to a return, it is a copy
        // of that return: as long, and one instruction fewer to run.
        // The present slot a jump to `t` lands on; null past the end.
        auto landing_slot = [&](SlotIndex t) -> const Slot* {
          return at[t] < placed.size() ? &slots_[placed[at[t]]] : nullptr;
        };
        SlotIndex target = slot.true_target;
        for (const Slot* l = landing_slot(target); l && is_unconditional_jump(*l); l = landing_slot(target)) {
          target = l->true_target;
        }
        const Slot* lands = landing_slot(target);
        const PendingInstruction* landing = lands && !is_far_jump(*lands) ? &code_[lands->source] : nullptr;
        if (landing && BPF_CLASS(landing->insn.code) == BPF_RET) {
          emit(landing->insn, comment_of(landing));
        } else {
          emit({static_cast<std::uint16_t>(BPF_JMP | BPF_JA), 0, 0, static_cast<std::uint32_t>(at[target] - next)},
               comment_of(p));
        }
      } else {
        bpf_insn insn = p->insn;
        insn.jt = insn.jf = 0;  // pending code's marks (kXHoldsLinkShift)
        emit(insn, comment_of(p));
      }
    }
    return out;
  }

  PendingCode code_;
  bool comments_;
  std::vector<Slot> slots_;
  PresenceCounts counts_{0};
  CheckQueue to_check_{0};  // jumps to check again, by slot
};

}  // namespace

BpfProgram lay_out_jumps(PendingCode code, bool comments) { return JumpLayout(std::move(code), comments).run(); }

std::size_t most_laid_out_size(const PendingCode& code) {
  // Instructions before each label, at most: a conditional jump counts
  // with its two far jump slots. The layout places a far jump only where
  // the target lies farther than kMaxConditionalJump, and dropping jumps
  // only brings targets nearer.
  auto most = [](const PendingInstruction& p) -> std::size_t {
    if (p.is_label()) return 0;
    return p.is_jump() && !p.is_unconditional_jump() ? 3 : 1;
  };
  std::vector<std::size_t> before_label(static_cast<std::size_t>(label_count(code)), 0);
  std::size_t before = 0;
  for (const PendingInstruction& p : code) {
    if (p.is_label()) before_label[static_cast<std::size_t>(p.label_here())] = before;
    before += most(p);
  }
  std::size_t size = 0;
  before = 0;
  for (const PendingInstruction& p : code) {
    before += most(p);
    if (p.is_label()) continue;
    ++size;
    if (!p.is_jump() || p.is_unconditional_jump()) continue;
    // How far each target lies past the jump's own far jump slots (a
    // label behind, which code generation never makes, counts as far). A
    // first far jump goes where one target lies out of reach; a second
    // where the other lies out of reach across the first.
    auto ahead = [&](int label) { return before_label[static_cast<std::size_t>(label)] - before; };
    std::size_t nearer = std::min(ahead(p.true_label), ahead(p.false_label));
    std::size_t farther = std::max(ahead(p.true_label), ahead(p.false_label));
    if (farther > kMaxConditionalJump) size += nearer + 1 > kMaxConditionalJump ? 2 : 1;
  }
  return size;
}

}  // namespace p0fbpf
