#include "backend/classic/registers.hpp"

#include <algorithm>
#include <iterator>

#include "base/release.hpp"

namespace p0fbpf {

using namespace ir;

namespace {

std::uint16_t width_code(Width width) {
  switch (width) {
    case Width::Byte: return BPF_B;
    case Width::Half: return BPF_H;
    case Width::Word: return BPF_W;
  }
  return BPF_W;
}

std::uint16_t alu_code(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return BPF_ADD;
    case BinaryOp::Sub: return BPF_SUB;
    case BinaryOp::Mul: return BPF_MUL;
    case BinaryOp::Div: return BPF_DIV;
    case BinaryOp::Mod: return BPF_MOD;
    case BinaryOp::And: return BPF_AND;
    case BinaryOp::Or: return BPF_OR;
    case BinaryOp::Xor: return BPF_XOR;
    case BinaryOp::Lsh: return BPF_LSH;
    case BinaryOp::Rsh: return BPF_RSH;
  }
  return BPF_ADD;
}

}  // namespace

MachineState MachineState::meet(const MachineState& l, const MachineState& r) {
  MachineState out;
  if (l.a == r.a) out.a = l.a;
  if (l.x == r.x) out.x = l.x;
  std::set_intersection(l.assigned.begin(), l.assigned.end(), r.assigned.begin(), r.assigned.end(),
                        std::inserter(out.assigned, out.assigned.end()));
  for (const auto& [key, slot] : l.scratch) {
    auto it = r.scratch.find(key);
    if (it != r.scratch.end() && it->second == slot) out.scratch.emplace(key, slot);
  }
  return out;
}

Registers::Registers(PendingCode& code, const std::vector<std::string>& spilled) : code_(code) {
  int slot = kScratchSlots;
  for (const std::string& name : spilled) reserved_.emplace(name, --slot);
}

void Registers::start_branch(std::uint32_t link_offset, bool first_branch, const std::string* carried) {
  MachineState kept;
  if (carried) {
    if (state_.x == *carried) kept.x = *carried;
    if (auto it = state_.scratch.find(*carried); it != state_.scratch.end()) kept.scratch.insert(*it);
    if (state_.assigned.count(*carried)) kept.assigned.insert(*carried);
  }
  state_ = std::move(kept);
  // Classic BPF starts with X = 0 (the kernel's, libpcap's and the BSDs'
  // interpreters alike).
  if (first_branch) state_.x = constant(0)->key;
  link_offset_ = link_offset;
}

void Registers::set_comment(const std::string& comment) {
  if (comment_ && *comment_ == comment) return;
  comment_ = intern(comment);
}

SharedComment Registers::intern(const std::string& comment) {
  return &*comments_.insert(comment).first;
}

void Registers::emit(std::uint16_t code, std::uint32_t k) {
  PendingInstruction p;
  p.insn.code = code;
  p.insn.k = k;
  p.comment = comment_;
  code_.push_back(std::move(p));
}

void Registers::count_branch_uses(const ConditionPtr& condition) {
  uses_.clear();
  occurrences_.clear();
  previous_lhs_.clear();
  count_uses(condition);
}

void Registers::count_uses(const ConditionPtr& c) {
  if (c->kind == Condition::Kind::Compare) {
    // Compares in a row on one value find it still in A.
    if (c->lhs->key != previous_lhs_) count_value_uses(c->lhs);
    count_value_uses(c->rhs);
    previous_lhs_ = c->lhs->key;
  }
  if (c->kind == Condition::Kind::Assign) count_value_uses(c->rhs);
  for (const auto& child : c->children) count_uses(child);
}

void Registers::forget_uses() {
  release(uses_);
  release(occurrences_);
}

// Counts how often each value occurs, and how often it serves as the base of
// an indexed load: values used again may be worth scratch memory.
void Registers::count_value_uses(const ValuePtr& v) {
  ++occurrences_[v->key];
  if (v->base) {
    ++uses_[v->base->key];
    count_value_uses(v->base);
  }
  if (v->lhs) count_value_uses(v->lhs);
  if (v->rhs) count_value_uses(v->rhs);
}

void Registers::into_a(const ValuePtr& v) {
  if (state_.a == v->key) return;
  if (auto it = state_.scratch.find(v->key); it != state_.scratch.end()) {
    emit(BPF_LD | BPF_MEM, static_cast<std::uint32_t>(it->second));
    state_.a = v->key;
    return;
  }
  switch (v->kind) {
    case Value::Kind::Constant:
      emit(BPF_LD | BPF_IMM, v->constant);
      break;
    case Value::Kind::Variable:
      if (state_.x != v->key) {
        note_missing(v);
        break;
      }
      emit(BPF_MISC | BPF_TXA, 0);
      break;
    case Value::Kind::PacketLength:
      // The IR's packet length counts from the IP header.
      emit(BPF_LD | BPF_W | BPF_LEN, 0);
      if (link_offset_) emit(BPF_ALU | BPF_SUB | BPF_K, link_offset_);
      break;
    case Value::Kind::IpHeaderLength:
      into_x(v);
      emit(BPF_MISC | BPF_TXA, 0);
      break;
    case Value::Kind::Load:
      if (v->base) {
        into_x(v->base);
        emit(BPF_LD | BPF_IND | width_code(v->width), v->offset + link_offset_);
        mark_if_link_shift(v->base);
      } else {
        emit(BPF_LD | BPF_ABS | width_code(v->width), v->offset + (v->frame ? 0 : link_offset_));
      }
      break;
    case Value::Kind::Binary:
      if (v->rhs->is_constant()) {
        into_a(v->lhs);
        emit(BPF_ALU | alu_code(v->op) | BPF_K, v->rhs->constant);
      } else {
        pair(v->lhs, v->rhs);
        emit(BPF_ALU | alu_code(v->op) | BPF_X, 0);
        mark_if_link_shift(v->rhs);
      }
      break;
  }
  state_.a = v->key;
  remember(v);
}

// The instruction just emitted read X holding `in_x`: marked for jump
// threading where that is the link shift.
void Registers::mark_if_link_shift(const ValuePtr& in_x) {
  if (in_x->key == link_shift_variable()->key) code_.back().insn.jf = kXHoldsLinkShift;
}

void Registers::note_missing(const ValuePtr& v) {
  if (!state_.assigned.count(v->key) && !unassigned_) unassigned_ = v->key;
  if (std::find(missing_.begin(), missing_.end(), v->key) == missing_.end()) missing_.push_back(v->key);
}

// Keeps a value that is needed again in scratch memory: a computed position,
// or a load through X, which may hold something else by then.
void Registers::remember(const ValuePtr& v) {
  bool worth = (v->kind == Value::Kind::Binary && uses_[v->key] >= 2) ||
               (v->kind == Value::Kind::Load && v->base && occurrences_[v->key] >= 2);
  if (!worth || state_.scratch.count(v->key)) return;
  int slot = free_slot();
  if (slot < 0) return;
  emit(BPF_ST, static_cast<std::uint32_t>(slot));
  state_.scratch.emplace(v->key, slot);
}

// A free slot, or else the first one, forgetting what it held (a value that
// can be computed again; spilled variables have slots of their own).
int Registers::take_slot() {
  int slot = free_slot();
  if (slot >= 0) return slot;
  std::erase_if(state_.scratch, [](const auto& entry) { return entry.second == 0; });
  return 0;
}

int Registers::free_slot() const {
  for (int slot = 0; slot < kScratchSlots - static_cast<int>(reserved_.size()); ++slot) {
    bool used = false;
    for (const auto& [key, s] : state_.scratch) used = used || s == slot;
    if (!used) return slot;
  }
  return -1;
}

void Registers::into_x(const ValuePtr& v) {
  if (state_.x == v->key) return;
  if (auto it = state_.scratch.find(v->key); it != state_.scratch.end()) {
    emit(BPF_LDX | BPF_MEM, static_cast<std::uint32_t>(it->second));
    mark_if_link_shift(v);
  } else if (v->kind == Value::Kind::Variable) {
    note_missing(v);
  } else if (v->kind == Value::Kind::Constant) {
    emit(BPF_LDX | BPF_IMM, v->constant);
  } else if (v->kind == Value::Kind::IpHeaderLength) {
    emit(BPF_LDX | BPF_B | BPF_MSH, link_offset_);
  } else {
    // Also the packet length: libpcap's listings do not know ldx #pktlen.
    into_a(v);
    emit(BPF_MISC | BPF_TAX, 0);
  }
  state_.x = v->key;
}

void Registers::pair(const ValuePtr& lhs, const ValuePtr& rhs) {
  if (state_.a == lhs->key && state_.x == rhs->key) return;
  bool lhs_at_hand = state_.scratch.count(lhs->key) > 0;  // reloading it needs no X
  if (!lhs->uses_index() || lhs_at_hand) {
    into_x(rhs);
    into_a(lhs);
  } else if (rhs->kind == Value::Kind::Constant || rhs->kind == Value::Kind::IpHeaderLength ||
             state_.scratch.count(rhs->key)) {
    // Computing lhs takes X, so rhs must come back into X without A.
    into_a(lhs);
    into_x(rhs);
  } else {
    // Both need the registers: park rhs in scratch memory.
    into_a(rhs);
    int slot = state_.scratch.count(rhs->key) ? state_.scratch.at(rhs->key) : take_slot();
    if (!state_.scratch.count(rhs->key)) {
      emit(BPF_ST, static_cast<std::uint32_t>(slot));
      state_.scratch.emplace(rhs->key, slot);
    }
    into_a(lhs);
    into_x(rhs);
  }
}

void Registers::assign(const ValuePtr& variable, const ValuePtr& value) {
  into_x(value);
  state_.x = variable->key;
  state_.assigned.insert(variable->key);
  if (auto it = reserved_.find(variable->key); it != reserved_.end()) {
    emit(BPF_STX, static_cast<std::uint32_t>(it->second));
    state_.scratch[variable->key] = it->second;
  }
}

}  // namespace p0fbpf
