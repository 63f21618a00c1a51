#include "ir/evaluate.hpp"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>


namespace p0fbpf::ir {
namespace {

// Thrown where classic BPF returns 0 at once.
struct ProgramEnded {};

// One branch over one frame.
class BranchRun {
 public:
  BranchRun(std::span<const std::uint8_t> frame, std::uint32_t link_offset,
            std::map<std::string, std::uint32_t> variables = {})
      : frame_(frame), link_offset_(link_offset), variables_(std::move(variables)) {}

  const std::map<std::string, std::uint32_t>& variables() const { return variables_; }

  // The framing held: reads of the datagram lie the link shift further
  // (passes/link.cpp's Based).
  void follow_framing() {
    framed_ = true;
    shift_ = link_shift_variable()->key;
  }

  bool holds(const ConditionPtr& c) {
    switch (c->kind) {
      case Condition::Kind::Constant:
        return c->truth;
      case Condition::Kind::Compare:
        return compare(*c) != c->negated;
      case Condition::Kind::Assign:
        variables_[c->lhs->key] = value(c->rhs);
        return true;
      case Condition::Kind::All:
        return std::all_of(c->children.begin(), c->children.end(), [&](const auto& child) { return holds(child); });
      case Condition::Kind::Any:
        return std::any_of(c->children.begin(), c->children.end(), [&](const auto& child) { return holds(child); });
      case Condition::Kind::Select:
        return holds(c->children[0]) ? holds(c->children[1]) : holds(c->children[2]);
    }
    return false;
  }

 private:
  std::uint32_t shift() const { return framed_ ? variables_.at(shift_) : 0; }

  bool compare(const Condition& c) {
    if (c.lhs->kind == Value::Kind::PacketLength && c.relation != Relation::AnyBitSet) {
      auto length = static_cast<std::uint32_t>(frame_.size());
      // As generated: the frame's length against the bound moved by the
      // link header (code generation, link.hpp's Based), where a constant
      // or the framing allows it.
      if (framed_) return relation_holds(c.relation, length - shift(), value(c.rhs) + link_offset_);
      if (c.rhs->is_constant()) return relation_holds(c.relation, length, c.rhs->constant + link_offset_);
    }
    std::uint32_t lhs = value(c.lhs);
    return relation_holds(c.relation, lhs, value(c.rhs));
  }

  std::uint32_t value(const ValuePtr& v) {
    switch (v->kind) {
      case Value::Kind::Constant:
        return v->constant;
      case Value::Kind::PacketLength:
        return static_cast<std::uint32_t>(frame_.size()) - shift() - link_offset_;
      case Value::Kind::IpHeaderLength:
        return 4 * (read(Width::Byte, link_offset_, shift()) & 0x0f);
      case Value::Kind::Load:
        if (v->frame) return read(v->width, v->offset, 0);
        return read(v->width, v->offset + link_offset_, (v->base ? value(v->base) : 0) + shift());
      case Value::Kind::Binary:
        return binary(v->op, value(v->lhs), value(v->rhs));
      case Value::Kind::Variable:
        if (auto it = variables_.find(v->key); it != variables_.end()) return it->second;
        throw std::logic_error("variable " + v->key + " is read where no path assigned it");
    }
    return 0;
  }

  static std::uint32_t binary(BinaryOp op, std::uint32_t a, std::uint32_t b) {
    if ((op == BinaryOp::Div || op == BinaryOp::Mod) && b == 0) throw ProgramEnded{};
    return fold(op, a, b);
  }

  // A big-endian read of `width` bytes at k + x (an indexed load's
  // constant and index), or the end of the program past the frame.
  std::uint32_t read(Width width, std::uint32_t k, std::uint32_t x) const {
    auto size = static_cast<std::uint32_t>(width);
    std::uint64_t at = std::uint64_t{k} + x;
    if (at + size > frame_.size()) throw ProgramEnded{};
    std::uint32_t out = 0;
    for (std::uint32_t i = 0; i < size; ++i) out = out << 8 | frame_[at + i];
    return out;
  }

  std::span<const std::uint8_t> frame_;
  std::uint32_t link_offset_;
  bool framed_ = false;
  std::string shift_;
  std::map<std::string, std::uint32_t> variables_;
};

}  // namespace

namespace {

// The first of `branches` that holds, each starting with `variables`;
// throws ProgramEnded.
std::optional<std::size_t> first_holding(const std::vector<Branch>& branches, std::span<const std::uint8_t> frame,
                                         bool guarded_framing,
                                         const std::map<std::string, std::uint32_t>& variables = {}) {
  for (std::size_t i = 0; i < branches.size(); ++i) {
    const Branch& branch = branches[i];
    BranchRun run(frame, branch.link_offset, variables);
    if (branch.framing) {
      std::uint32_t end = std::max<std::uint32_t>(read_end(branch.framing, nullptr), 1);
      if (guarded_framing && frame.size() < end) continue;
      if (!run.holds(branch.framing)) continue;
      run.follow_framing();
    }
    if (run.holds(branch.condition)) return i;
  }
  return std::nullopt;
}

}  // namespace

Verdict evaluate(const Program& program, std::span<const std::uint8_t> frame, bool negate) {
  Verdict out;
  try {
    // A gate that reads past the end lets nothing past it either.
    out.outside_gate = true;
    if (!program.gate.empty() && !first_holding(program.gate, frame, true)) return out;
    out.outside_gate = false;
    // As generated: the program's framing runs where there are branches,
    // and where it does not hold, none does (its reads may end the
    // program).
    std::map<std::string, std::uint32_t> framed;
    bool held = true;
    if (program.framing && !program.branches.empty()) {
      BranchRun run(frame, 0);
      held = run.holds(program.framing);
      framed = run.variables();
    }
    if (held) out.branch = first_holding(program.branches, frame, negate, framed);
  } catch (const ProgramEnded&) {
    out.ended = true;
    return out;
  }
  out.accepted = out.branch.has_value() != negate;
  return out;
}

}  // namespace p0fbpf::ir
