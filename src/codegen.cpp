#include "p0fbpf/codegen.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <unordered_map>

namespace p0fbpf {
namespace {

using namespace ir;

constexpr int kScratchSlots = 16;  // BPF_MEMWORDS
constexpr std::uint32_t kMaxConditionalJump = 255;

// What the registers and scratch memory are known to hold.
struct MachineState {
  std::string a;
  std::string x;
  std::map<std::string, int> scratch;  // value key -> slot

  static MachineState meet(const MachineState& l, const MachineState& r) {
    MachineState out;
    if (l.a == r.a) out.a = l.a;
    if (l.x == r.x) out.x = l.x;
    for (const auto& [key, slot] : l.scratch) {
      auto it = r.scratch.find(key);
      if (it != r.scratch.end() && it->second == slot) out.scratch.emplace(key, slot);
    }
    return out;
  }
};

// An instruction whose jump targets are still labels.
struct PendingInstruction {
  bpf_insn insn{};
  int true_label = -1;   // conditional jumps and ja
  int false_label = -1;  // conditional jumps
  int label_here = -1;   // >= 0: a label marker, not an instruction
  std::string comment;
};

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

std::uint16_t jump_code(Relation relation) {
  switch (relation) {
    case Relation::Equal: return BPF_JEQ;
    case Relation::Greater: return BPF_JGT;
    case Relation::GreaterEqual: return BPF_JGE;
    case Relation::AnyBitSet: return BPF_JSET;
  }
  return BPF_JEQ;
}

class Generator {
 public:
  // `spilled`: variables kept in scratch memory from their assignment on,
  // because some use finds them neither in X nor in scratch otherwise.
  Generator(const CodegenOptions& options, const std::vector<std::string>& spilled) : options_(options) {
    int slot = kScratchSlots;
    for (const std::string& name : spilled) reserved_.emplace(name, --slot);
  }

  // The first variable a use found nowhere, if any: the program is then
  // wrong, and is generated again with the variable spilled.
  const std::optional<std::string>& missing_variable() const { return missing_; }

  BpfProgram run(const Program& program) {
    for (const Branch& branch : program.branches) count_uses(branch.condition);
    int accept = new_label();
    int reject = new_label();
    for (std::size_t i = 0; i < program.branches.size(); ++i) {
      bool last = i + 1 == program.branches.size();
      int next = last ? reject : new_label();
      state_ = MachineState{};
      // Classic BPF starts with X = 0 (the kernel's, libpcap's and the
      // BSDs' interpreters alike).
      if (i == 0) state_.x = constant(0)->key;
      reachable_ = true;
      link_offset_ = program.branches[i].link_offset;
      condition(program.branches[i].condition, accept, next);
      if (!last) place(next);
    }
    std::uint32_t accepted = options_.negate ? 0 : options_.accept_value;
    std::uint32_t rejected = options_.negate ? options_.accept_value : 0;
    if (program.branches.empty()) {
      emit(BPF_RET | BPF_K, rejected, "no signature can match");
      return resolve();
    }
    place(reject);
    emit(BPF_RET | BPF_K, rejected, options_.negate ? "accept (negated)" : "reject");
    reachable_ = false;
    place(accept);
    if (reachable_) emit(BPF_RET | BPF_K, accepted, options_.negate ? "reject (negated)" : "accept");
    while (merge_identical_blocks()) {
    }
    return resolve();
  }

 private:
  int new_label() { return next_label_++; }

  void emit(std::uint16_t code, std::uint32_t k, const std::string& comment) {
    PendingInstruction p;
    p.insn.code = code;
    p.insn.k = k;
    p.comment = comment;
    code_.push_back(std::move(p));
  }

  void jump(int target) {
    if (!reachable_) return;
    PendingInstruction p;
    p.insn.code = BPF_JMP | BPF_JA;
    p.true_label = target;
    p.comment = comment_;
    code_.push_back(std::move(p));
    arrive(target);
    reachable_ = false;
  }

  void branch(std::uint16_t code, std::uint32_t k, int on_true, int on_false) {
    PendingInstruction p;
    p.insn.code = code;
    p.insn.k = k;
    p.true_label = on_true;
    p.false_label = on_false;
    p.comment = comment_;
    code_.push_back(std::move(p));
    arrive(on_true);
    arrive(on_false);
    reachable_ = false;
  }

  void arrive(int label) {
    auto it = incoming_.find(label);
    if (it == incoming_.end()) incoming_.emplace(label, state_);
    else it->second = MachineState::meet(it->second, state_);
  }

  void place(int label) {
    auto it = incoming_.find(label);
    if (it != incoming_.end()) {
      state_ = reachable_ ? MachineState::meet(state_, it->second) : it->second;
      reachable_ = true;
    }
    PendingInstruction marker;
    marker.label_here = label;
    code_.push_back(std::move(marker));
  }

  // --- values ---------------------------------------------------------

  void count_uses(const ConditionPtr& c) {
    if (c->kind == Condition::Kind::Compare) {
      // Compares in a row on one value find it still in A.
      if (c->lhs->key != previous_lhs_) count_uses(c->lhs);
      count_uses(c->rhs);
      previous_lhs_ = c->lhs->key;
    }
    if (c->kind == Condition::Kind::Assign) count_uses(c->rhs);
    for (const auto& child : c->children) count_uses(child);
  }

  // Counts how often each value occurs, and how often it serves as the base
  // of an indexed load: values used again may be worth scratch memory.
  void count_uses(const ValuePtr& v) {
    ++occurrences_[v->key];
    if (v->base) {
      ++uses_[v->base->key];
      count_uses(v->base);
    }
    if (v->lhs) count_uses(v->lhs);
    if (v->rhs) count_uses(v->rhs);
  }

  void into_a(const ValuePtr& v) {
    if (state_.a == v->key) return;
    if (auto it = state_.scratch.find(v->key); it != state_.scratch.end()) {
      emit(BPF_LD | BPF_MEM, static_cast<std::uint32_t>(it->second), comment_);
      state_.a = v->key;
      return;
    }
    switch (v->kind) {
      case Value::Kind::Constant:
        emit(BPF_LD | BPF_IMM, v->constant, comment_);
        break;
      case Value::Kind::Variable:
        if (state_.x != v->key) {
          note_missing(v);
          break;
        }
        emit(BPF_MISC | BPF_TXA, 0, comment_);
        break;
      case Value::Kind::PacketLength:
        // The IR's packet length counts from the IP header.
        emit(BPF_LD | BPF_W | BPF_LEN, 0, comment_);
        if (link_offset_) emit(BPF_ALU | BPF_SUB | BPF_K, link_offset_, comment_);
        break;
      case Value::Kind::IpHeaderLength:
        into_x(v);
        emit(BPF_MISC | BPF_TXA, 0, comment_);
        break;
      case Value::Kind::Load:
        if (v->base) {
          into_x(v->base);
          emit(BPF_LD | BPF_IND | width_code(v->width), v->offset + link_offset_, comment_);
        } else {
          emit(BPF_LD | BPF_ABS | width_code(v->width), v->offset + (v->frame ? 0 : link_offset_), comment_);
        }
        break;
      case Value::Kind::Binary:
        if (v->rhs->is_constant()) {
          into_a(v->lhs);
          emit(BPF_ALU | alu_code(v->op) | BPF_K, v->rhs->constant, comment_);
        } else {
          pair(v->lhs, v->rhs);
          emit(BPF_ALU | alu_code(v->op) | BPF_X, 0, comment_);
        }
        break;
    }
    state_.a = v->key;
    remember(v);
  }

  void note_missing(const ValuePtr& v) {
    if (!missing_) missing_ = v->key;
  }

  // Keeps a value that is needed again in scratch memory: a computed
  // position, or a load through X, which may hold something else by then.
  void remember(const ValuePtr& v) {
    bool worth = (v->kind == Value::Kind::Binary && uses_[v->key] >= 2) ||
                 (v->kind == Value::Kind::Load && v->base && occurrences_[v->key] >= 2);
    if (!worth || state_.scratch.count(v->key)) return;
    int slot = free_slot();
    if (slot < 0) return;
    emit(BPF_ST, static_cast<std::uint32_t>(slot), comment_);
    state_.scratch.emplace(v->key, slot);
  }

  // A free slot, or else the first one, forgetting what it held (a value
  // that can be computed again; spilled variables have slots of their own).
  int take_slot() {
    int slot = free_slot();
    if (slot >= 0) return slot;
    std::erase_if(state_.scratch, [](const auto& entry) { return entry.second == 0; });
    return 0;
  }

  int free_slot() const {
    for (int slot = 0; slot < kScratchSlots - static_cast<int>(reserved_.size()); ++slot) {
      bool used = false;
      for (const auto& [key, s] : state_.scratch) used = used || s == slot;
      if (!used) return slot;
    }
    return -1;
  }

  void into_x(const ValuePtr& v) {
    if (state_.x == v->key) return;
    if (auto it = state_.scratch.find(v->key); it != state_.scratch.end()) {
      emit(BPF_LDX | BPF_MEM, static_cast<std::uint32_t>(it->second), comment_);
    } else if (v->kind == Value::Kind::Variable) {
      note_missing(v);
    } else if (v->kind == Value::Kind::Constant) {
      emit(BPF_LDX | BPF_IMM, v->constant, comment_);
    } else if (v->kind == Value::Kind::IpHeaderLength) {
      emit(BPF_LDX | BPF_B | BPF_MSH, link_offset_, comment_);
    } else {
      // Also the packet length: libpcap's listings do not know ldx #pktlen.
      into_a(v);
      emit(BPF_MISC | BPF_TAX, 0, comment_);
    }
    state_.x = v->key;
  }

  // A = lhs, X = rhs.
  void pair(const ValuePtr& lhs, const ValuePtr& rhs) {
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
        emit(BPF_ST, static_cast<std::uint32_t>(slot), comment_);
        state_.scratch.emplace(rhs->key, slot);
      }
      into_a(lhs);
      into_x(rhs);
    }
  }

  // --- conditions -----------------------------------------------------

  void condition(const ConditionPtr& c, int on_true, int on_false) {
    if (!reachable_) return;
    switch (c->kind) {
      case Condition::Kind::Constant:
        jump(c->truth ? on_true : on_false);
        return;
      case Condition::Kind::Compare:
        compare(*c, on_true, on_false);
        return;
      case Condition::Kind::Assign:
        comment_ = c->field;
        into_x(c->rhs);
        state_.x = c->lhs->key;
        if (auto it = reserved_.find(c->lhs->key); it != reserved_.end()) {
          emit(BPF_STX, static_cast<std::uint32_t>(it->second), comment_);
          state_.scratch[c->lhs->key] = it->second;
        }
        jump(on_true);
        return;
      case Condition::Kind::All:
        for (std::size_t i = 0; i + 1 < c->children.size(); ++i) {
          int next = new_label();
          condition(c->children[i], next, on_false);
          place(next);
        }
        condition(c->children.back(), on_true, on_false);
        return;
      case Condition::Kind::Any:
        for (std::size_t i = 0; i + 1 < c->children.size(); ++i) {
          int next = new_label();
          condition(c->children[i], on_true, next);
          place(next);
        }
        condition(c->children.back(), on_true, on_false);
        return;
      case Condition::Kind::Select: {
        int then_label = new_label();
        int else_label = new_label();
        condition(c->children[0], then_label, else_label);
        place(then_label);
        condition(c->children[1], on_true, on_false);
        place(else_label);
        condition(c->children[2], on_true, on_false);
        return;
      }
    }
  }

  void compare(const Condition& c, int on_true, int on_false) {
    comment_ = c.field;
    if (c.negated) std::swap(on_true, on_false);
    std::uint16_t code = BPF_JMP | jump_code(c.relation);
    if (c.lhs->kind == Value::Kind::PacketLength && c.rhs->is_constant() && c.relation != Relation::AnyBitSet &&
        state_.a != c.lhs->key) {
      // Compare the frame length with the bound moved by the link header.
      emit(BPF_LD | BPF_W | BPF_LEN, 0, comment_);
      state_.a.clear();
      branch(code | BPF_K, c.rhs->constant + link_offset_, on_true, on_false);
    } else if (c.rhs->is_constant()) {
      into_a(c.lhs);
      branch(code | BPF_K, c.rhs->constant, on_true, on_false);
    } else {
      pair(c.lhs, c.rhs);
      branch(code | BPF_X, 0, on_true, on_false);
    }
  }

  // --- sharing --------------------------------------------------------

  // Two blocks with the same instructions and the same jump targets compute
  // the same thing from the same registers: the earlier one goes, and its
  // jumps go to the later one (so jumps still point forward). Only blocks
  // that nothing falls into are removed.
  bool merge_identical_blocks() {
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

  // --- layout ---------------------------------------------------------

  BpfProgram resolve() {
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
            int near = new_label();
            *label = near;
            PendingInstruction marker;
            marker.label_here = near;
            PendingInstruction ja;
            ja.insn.code = BPF_JMP | BPF_JA;
            ja.true_label = far;
            ja.comment = "(far jump)";
            auto pos = code_.begin() + static_cast<std::ptrdiff_t>(i) + 1;
            pos = code_.insert(pos, std::move(ja));
            code_.insert(pos, std::move(marker));
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

  CodegenOptions options_;
  std::vector<PendingInstruction> code_;
  std::map<int, MachineState> incoming_;
  MachineState state_;
  bool reachable_ = true;
  int next_label_ = 0;
  std::string comment_;
  std::unordered_map<std::string, int> uses_;
  std::unordered_map<std::string, int> occurrences_;  // of each value in the checks
  std::string previous_lhs_;  // while counting
  std::map<std::string, int> reserved_;  // spilled variable -> its scratch slot
  std::optional<std::string> missing_;
  std::uint32_t link_offset_ = 0;  // of the branch being generated
};

}  // namespace

BpfProgram generate(const Program& program, const CodegenOptions& options) {
  std::vector<std::string> spilled;
  while (true) {
    Generator generator(options, spilled);
    BpfProgram out = generator.run(program);
    const auto& missing = generator.missing_variable();
    if (!missing) return out;
    if (std::find(spilled.begin(), spilled.end(), *missing) != spilled.end()) {
      throw std::logic_error("variable " + *missing + " is read where no path assigned it");
    }
    spilled.push_back(*missing);
  }
}

}  // namespace p0fbpf
