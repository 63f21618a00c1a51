// Code generation's control flow: conditions become compares and jumps
// between labels. Values come into the registers through registers.hpp;
// block_merge.hpp shares what the branches have in common, and
// jump_layout.hpp turns labels into offsets.
#include "backend/classic/codegen.hpp"

#include <map>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "backend/classic/block_merge.hpp"
#include "backend/classic/compare_trees.hpp"
#include "backend/classic/jump_layout.hpp"
#include "backend/classic/jump_threading.hpp"
#include "backend/classic/registers.hpp"
#include "base/release.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

std::uint16_t jump_code(Relation relation) {
  switch (relation) {
    case Relation::Equal: return BPF_JEQ;
    case Relation::Greater: return BPF_JGT;
    case Relation::GreaterEqual: return BPF_JGE;
    case Relation::AnyBitSet: return BPF_JSET;
  }
  return BPF_JEQ;
}

// Pending code from which on a program is large: about 200 signatures with
// a verdict each (xdp attach), 800 of a socket filter (pin); half a
// megabyte.
constexpr std::size_t kLargeCode = 20'000;

// The bit of the first word that tells IP versions 4 (0100) and 6 (0110)
// apart.
constexpr std::uint32_t kVersionBit = 0x20000000;

// A program whose branches are a run of one IP version's, then a run of the
// other's, each reading the IP header at the packet's start, starts with
// `ld [0]; jset #0x20000000` to the run of the packet's version. On each
// side jump threading then knows the version: a packet's failed branch goes
// past the other version's branches, whose first compare tests it, and the
// first branch of each run past its reload of the word. Where the branch of
// the second run starts; nullopt where no split applies: not asked for, a
// branch for both versions, a framed one, or more than two runs. A branch
// framed behind a link header has the link offset 0 too once its reads are
// the frame's (resolve_link_base): the caller asks for a split only where
// packets start with the IP header (CodegenOptions::version_split). Not for
// a negated program either: a packet too short for the load would end it
// with "matches".
std::optional<std::size_t> version_split(const Program& program, const CodegenOptions& options) {
  if (!options.version_split || options.negate || program.framing) return std::nullopt;
  const auto& b = program.branches;
  std::optional<std::size_t> second;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if ((b[i].ip_version != 4 && b[i].ip_version != 6) || b[i].link_offset != 0 || b[i].framing) return std::nullopt;
    if (i == 0 || b[i].ip_version == b[i - 1].ip_version) continue;
    if (second) return std::nullopt;
    second = i;
  }
  return second;
}

class Generator {
 public:
  // `spilled`: variables kept in scratch memory from their assignment on,
  // because some use would find them neither in X nor in scratch otherwise
  // (see variables_to_spill).
  Generator(const CodegenOptions& options, const std::vector<std::string>& spilled)
      : options_(options), registers_(code_, spilled) {}

  // The pending code the liveness check walked through: about what run()
  // makes (spills add a few stores).
  std::size_t walked_code_size() const { return walked_code_size_; }

  // Takes the program by value, and lets it go once walked: a caller that
  // moves it in frees what no one else holds before merging and layout.
  BpfProgram run(Program program, std::size_t expected_code_size = 0) {
    code_.reserve(expected_code_size);  // a large program's code, without copies as it grows
    walk(program);
    const bool no_branches = program.branches.empty();
    program = {};
    release(incoming_);  // what held at each label: no longer needed, and large
    registers_.forget_uses();
    if (code_.size() >= kLargeCode) {
      // The IR was megabytes of small blocks, which stay resident once
      // freed, under what comes next: three pending codes and the layout's
      // slots. What is left among them goes first.
      ir::drop_unused_values();
      release_free_heap();
    }
    if (!registers_.missing_variables().empty()) {
      throw std::logic_error("variable " + registers_.missing_variables().front() +
                             " is in neither X nor scratch memory where it is read");
    }
    const bool comments = options_.comments;
    if (no_branches) return lay_out_jumps(std::move(code_), comments);
    PendingCode merged = merge_identical_blocks(std::move(code_));
    if (!options_.thread_jumps) return lay_out_jumps(std::move(merged), comments);
    // Threading adds no instruction, but a jump that goes farther may need
    // a far jump (or no longer go to the next instruction): the shorter
    // program is kept, so that threading never costs a fit.
    PendingCode threaded_code = thread_jumps(merged);
    std::optional<BpfProgram> balanced;
    if (options_.balance_compares) {
      if (std::optional<PendingCode> code = balance_compare_chains(threaded_code)) {
        if (within_budget(most_laid_out_size(*code))) {
          // What surely fits needs no other program to compare with: the
          // other codes go before the layout, which needs as much again (a
          // large selection's code is megabytes), and are never laid out.
          release(merged);
          release(threaded_code);
          return lay_out_jumps(std::move(*code), comments);
        }
        balanced = lay_out_jumps(std::move(*code), comments);
        if (within_budget(balanced->instructions.size())) return std::move(*balanced);
      }
    }
    BpfProgram plain = lay_out_jumps(std::move(merged), comments);
    BpfProgram threaded = lay_out_jumps(std::move(threaded_code), comments);
    BpfProgram shorter =
        threaded.instructions.size() <= plain.instructions.size() ? std::move(threaded) : std::move(plain);
    // A tree program over the budget is kept only where the other is over
    // it too, and is no longer.
    if (balanced && balanced->instructions.size() <= shorter.instructions.size() &&
        !within_budget(shorter.instructions.size())) {
      return std::move(*balanced);
    }
    return shorter;
  }

  bool within_budget(std::size_t size) const { return options_.size_budget == 0 || size <= options_.size_budget; }

  // The liveness check: follows the control flow with what the registers
  // hold, as generation does, for the variables read where X may hold
  // something else on some path from their assignment.
  std::vector<std::string> variables_to_spill(const Program& program) {
    keep_code_ = false;
    walk(program);
    walked_code_size_ += code_.size();
    if (const auto& variable = registers_.unassigned_variable()) {
      throw std::logic_error("variable " + *variable + " is read where no path assigned it");
    }
    return registers_.missing_variables();
  }

 private:
  void walk(const Program& program) {
    if (options_.verdict_per_signature && options_.negate) {
      throw std::invalid_argument("a negated program has no matching signature to return");
    }
    // One accept label per verdict: per signature, or the one accept_value.
    std::map<std::uint32_t, int> accepts;
    auto accept_label = [&](const Branch& branch) {
      std::uint32_t verdict = options_.verdict_per_signature ? branch.signature + 1 : 0;
      auto [at, fresh] = accepts.try_emplace(verdict, 0);
      if (fresh) at->second = new_label();
      return at->second;
    };
    int reject = new_label();
    // Where the second IP version's branches start, when a version split
    // leads the program (version_split).
    std::optional<std::size_t> second_run = version_split(program, options_);
    int second_label = second_run ? new_label() : -1;
    if (second_run) {
      int first_label = new_label();
      bool first_is_v6 = program.branches.front().ip_version == 6;
      if (options_.comments) registers_.set_comment("ip version: 4 or 6");
      registers_.emit(BPF_LD | BPF_W | BPF_ABS, 0);
      branch(BPF_JMP | BPF_JSET | BPF_K, kVersionBit, first_is_v6 ? first_label : second_label,
             first_is_v6 ? second_label : first_label);
      place(first_label);
    }
    // The program's framing, once: the branches find what it assigned in X
    // or scratch memory (Registers::start_branch).
    const std::string* carried = nullptr;
    if (program.framing && !program.branches.empty()) {
      registers_.start_branch(0, true);
      int framed = new_label();
      condition(program.framing, framed, reject);
      place(framed);
      carried = &link_shift_variable()->key;
    }
    for (std::size_t i = 0; i < program.branches.size(); ++i) {
      bool last = i + 1 == program.branches.size();
      int next = last ? reject : second_run && i + 1 == *second_run ? second_label : new_label();
      registers_.start_branch(program.branches[i].link_offset, i == 0 && !carried, carried);
      registers_.count_branch_uses(program.branches[i].condition);
      reachable_ = true;
      condition(program.branches[i].condition, accept_label(program.branches[i]), next);
      if (!last) place(next);
      if (!keep_code_) {  // only the registers' states matter, and how much code there is
        walked_code_size_ += code_.size();
        code_.clear();
      }
    }
    std::uint32_t accepted = options_.negate ? 0 : options_.accept_value;
    std::uint32_t rejected = options_.negate ? options_.accept_value : 0;
    if (program.branches.empty()) {
      ret(rejected, "no signature can match");
      return;
    }
    place(reject);
    ret(rejected, options_.negate ? "accept (negated)" : "reject");
    for (const auto& [verdict, label] : accepts) {
      reachable_ = false;
      place(label);
      if (!reachable_) continue;
      if (options_.verdict_per_signature) {
        // Without comments, no text per signature: thousands of small
        // blocks, allocated among the IR's, would keep its pages resident.
        ret(verdict, options_.comments ? fmt::format("accept: signature {}", verdict) : std::string());
      } else {
        ret(accepted, options_.negate ? "reject (negated)" : "accept");
      }
    }
  }

  int new_label() { return next_label_++; }
  MachineState& state() { return registers_.state(); }

  void ret(std::uint32_t k, const std::string& comment) {
    PendingInstruction p;
    p.insn.code = BPF_RET | BPF_K;
    p.insn.k = k;
    if (options_.comments) p.comment = registers_.intern(comment);
    code_.push_back(std::move(p));
  }

  void jump(int target) {
    if (!reachable_) return;
    PendingInstruction p;
    p.insn.code = BPF_JMP | BPF_JA;
    p.true_label = target;
    p.comment = registers_.comment();
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
    p.comment = registers_.comment();
    code_.push_back(std::move(p));
    arrive(on_true);
    arrive(on_false);
    reachable_ = false;
  }

  void arrive(int label) {
    auto it = incoming_.find(label);
    if (it == incoming_.end()) incoming_.emplace(label, state());
    else it->second = MachineState::meet(it->second, state());
  }

  void place(int label) {
    auto it = incoming_.find(label);
    if (it != incoming_.end()) {
      state() = reachable_ ? MachineState::meet(state(), it->second) : std::move(it->second);
      reachable_ = true;
      incoming_.erase(it);  // every jump to it comes before it
    }
    code_.push_back(label_marker(label));
  }

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
        if (options_.comments) registers_.set_comment(c->field);
        registers_.assign(c->lhs, c->rhs);
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
    if (options_.comments) registers_.set_comment(c.field);
    if (c.negated) std::swap(on_true, on_false);
    std::uint16_t code = BPF_JMP | jump_code(c.relation);
    if (c.lhs->kind == Value::Kind::PacketLength && c.rhs->is_constant() && c.relation != Relation::AnyBitSet &&
        state().a != c.lhs->key) {
      // Compare the frame length with the bound moved by the link header.
      registers_.emit(BPF_LD | BPF_W | BPF_LEN, 0);
      state().a.clear();
      branch(code | BPF_K, c.rhs->constant + registers_.link_offset(), on_true, on_false);
    } else if (c.rhs->is_constant()) {
      registers_.into_a(c.lhs);
      branch(code | BPF_K, c.rhs->constant, on_true, on_false);
    } else {
      registers_.pair(c.lhs, c.rhs);
      branch(code | BPF_X, 0, on_true, on_false);
    }
  }

  CodegenOptions options_;
  PendingCode code_;
  Registers registers_;
  std::map<int, MachineState> incoming_;  // label -> what holds on the jumps to it
  bool reachable_ = true;
  bool keep_code_ = true;  // false for the liveness check, which needs no code
  std::size_t walked_code_size_ = 0;
  int next_label_ = 0;
};

}  // namespace

namespace {

// The largest budget under which a program is generated again without a
// version split should the split make it too large (xt_bpf's 64, tc's and
// pins' 4096). The copy of the IR that takes keeps its branches alive
// through code generation, which a larger program (XDP's, of thousands of
// signatures) cannot afford; the split adds two or three instructions.
constexpr std::size_t kSmallBudget = 4096;

BpfProgram generate_branches(Program program, const CodegenOptions& options) {
  std::vector<std::string> spilled;
  std::size_t expected = 0;
  {
    Generator liveness(options, {});
    spilled = liveness.variables_to_spill(program);
    expected = liveness.walked_code_size();
  }
  // Within a budget, a split that makes the program too large is dropped:
  // the program without it is made too.
  std::optional<Program> unsplit;
  if (options.size_budget != 0 && options.size_budget <= kSmallBudget && version_split(program, options)) {
    unsplit = program;
  }
  BpfProgram out = Generator(options, spilled).run(std::move(program), expected + expected / 16);
  if (!unsplit || out.instructions.size() <= options.size_budget) return out;
  CodegenOptions without = options;
  without.version_split = false;
  BpfProgram other = Generator(without, spilled).run(std::move(*unsplit), expected + expected / 16);
  return other.instructions.size() < out.instructions.size() ? other : out;
}

// The gate's code, then the branches': a gate branch that holds goes on to
// the branches' code, with A and X back at 0 as a program starts (the
// branches may rely on X being 0, see link.cpp's framing); a packet that
// none holds returns outside_gate. Both are generated alone, so that
// neither relies on what the other leaves in the registers.
constexpr std::uint32_t kGoOn = 1;  // what the gate's own code returns for a packet it keeps

BpfProgram gate_code(const std::vector<Branch>& gate, const CodegenOptions& options) {
  return generate_branches(Program{gate, {}}, {false, kGoOn, false, 0, options.thread_jumps, options.comments,
                                               options.balance_compares});
}

// The instructions the gate adds in front of the branches' code.
std::size_t gate_length(const BpfProgram& gate) { return gate.instructions.size() + 2; }

BpfProgram gated(BpfProgram out, BpfProgram branches, const CodegenOptions& options) {
  const std::size_t size = out.instructions.size();
  for (std::size_t i = 0; i < size; ++i) {
    bpf_insn& insn = out.instructions[i];
    if (insn.code != (BPF_RET | BPF_K)) continue;
    if (insn.k == kGoOn) {
      insn = {static_cast<std::uint16_t>(BPF_JMP | BPF_JA), 0, 0, static_cast<std::uint32_t>(size - i - 1)};
      if (options.comments) out.comments[i] = "gate: a SYN, on to the signatures";
    } else {
      insn.k = options.outside_gate;
      if (options.comments) out.comments[i] = "gate: not a SYN, let it be";
    }
  }
  out.instructions.push_back({static_cast<std::uint16_t>(BPF_LD | BPF_IMM), 0, 0, 0});
  out.instructions.push_back({static_cast<std::uint16_t>(BPF_LDX | BPF_IMM), 0, 0, 0});
  out.instructions.insert(out.instructions.end(), branches.instructions.begin(), branches.instructions.end());
  if (options.comments) {
    out.comments.insert(out.comments.end(), 2, "gate: registers as at the start");
    out.comments.insert(out.comments.end(), std::make_move_iterator(branches.comments.begin()),
                        std::make_move_iterator(branches.comments.end()));
  }
  return out;
}

}  // namespace

BpfProgram generate(Program program, const CodegenOptions& options) {
  if (program.gate.empty()) {
    return generate_branches(Program{std::move(program.branches), {}, std::move(program.framing)}, options);
  }
  BpfProgram gate = gate_code(program.gate, options);
  CodegenOptions for_branches = options;
  if (options.size_budget != 0) {
    // What is left for the branches (1 when the gate alone is too large:
    // then they keep their shortest form).
    std::size_t before = gate_length(gate);
    for_branches.size_budget = options.size_budget > before ? options.size_budget - before : 1;
  }
  BpfProgram branches =
      generate_branches(Program{std::move(program.branches), {}, std::move(program.framing)}, for_branches);
  return gated(std::move(gate), std::move(branches), options);
}

}  // namespace p0fbpf
