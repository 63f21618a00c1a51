#include "ir/verify.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace p0fbpf::ir {
namespace {

// The variables assigned on every path that reaches a point; nullopt where no
// path does (it then agrees with anything).
using Assigned = std::optional<std::set<std::string>>;

Assigned meet(const Assigned& a, const Assigned& b) {
  if (!a) return b;
  if (!b) return a;
  std::set<std::string> both;
  std::set_intersection(a->begin(), a->end(), b->begin(), b->end(), std::inserter(both, both.end()));
  return both;
}

// After a condition: what is assigned where it holds, and where it fails.
struct Outcome {
  Assigned if_true, if_false;
};

class Verifier {
 public:
  Verifier(std::size_t branch, std::string part, std::vector<VerifyError>& errors)
      : branch_(branch), part_(std::move(part)), errors_(errors) {}

  Outcome check(const ConditionPtr& c, const Assigned& before) {
    if (!c) {
      fail("a missing condition");
      return {before, before};
    }
    switch (c->kind) {
      case Condition::Kind::Constant:
        return c->truth ? Outcome{before, std::nullopt} : Outcome{std::nullopt, before};
      case Condition::Kind::Compare:
        if (!c->lhs || !c->rhs) {
          fail(fmt::format("compare ({}) without both operands", c->field));
          return {before, before};
        }
        check(c->lhs, before, c->field);
        check(c->rhs, before, c->field);
        return {before, before};
      case Condition::Kind::Assign: {
        if (!c->lhs || !c->rhs || c->lhs->kind != Value::Kind::Variable) {
          fail(fmt::format("assignment ({}) not of a value to a variable", c->field));
          return {before, std::nullopt};
        }
        check(c->rhs, before, c->field);
        Assigned after = before;
        if (after) after->insert(c->lhs->key);
        return {after, std::nullopt};
      }
      case Condition::Kind::All: {
        if (c->children.empty()) fail("all without children");
        Outcome out{before, std::nullopt};
        for (const auto& child : c->children) {
          Outcome step = check(child, out.if_true);
          out.if_false = meet(out.if_false, step.if_false);
          out.if_true = step.if_true;
        }
        return out;
      }
      case Condition::Kind::Any: {
        if (c->children.empty()) fail("any without children");
        Outcome out{std::nullopt, before};
        for (const auto& child : c->children) {
          Outcome step = check(child, out.if_false);
          out.if_true = meet(out.if_true, step.if_true);
          out.if_false = step.if_false;
        }
        return out;
      }
      case Condition::Kind::Select: {
        if (c->children.size() != 3) {
          fail(fmt::format("select with {} children, not 3", c->children.size()));
          return {before, before};
        }
        Outcome test = check(c->children[0], before);
        Outcome then = check(c->children[1], test.if_true);
        Outcome otherwise = check(c->children[2], test.if_false);
        return {meet(then.if_true, otherwise.if_true), meet(then.if_false, otherwise.if_false)};
      }
    }
    fail("a condition of unknown kind");
    return {before, before};
  }

 private:
  void check(const ValuePtr& v, const Assigned& assigned, const std::string& field) {
    if (!v) {
      fail(fmt::format("a missing value ({})", field));
      return;
    }
    switch (v->kind) {
      case Value::Kind::Constant:
      case Value::Kind::PacketLength:
      case Value::Kind::IpHeaderLength:
        return;
      case Value::Kind::Variable:
        if (assigned && !assigned->count(v->key)) {
          fail(fmt::format("{} is read ({}) where some path has not assigned it", v->key, field));
        }
        return;
      case Value::Kind::Load: {
        auto width = static_cast<std::uint32_t>(v->width);
        if (width != 1 && width != 2 && width != 4) {
          fail(fmt::format("load {} ({}) is {} bytes wide, not 1, 2 or 4", v->key, field, width));
        }
        if (std::uint64_t{v->offset} + width > kMaxReadEnd) {
          fail(fmt::format("load {} ({}) ends past byte {}", v->key, field, kMaxReadEnd));
        }
        if (v->frame && v->base) fail(fmt::format("frame load {} ({}) has a base", v->key, field));
        if (v->base) check(v->base, assigned, field);
        return;
      }
      case Value::Kind::Binary:
        if (!v->lhs || !v->rhs) {
          fail(fmt::format("operation {} ({}) without both operands", v->key, field));
          return;
        }
        if (v->rhs->is_constant()) {
          bool shift = v->op == BinaryOp::Lsh || v->op == BinaryOp::Rsh;
          bool division = v->op == BinaryOp::Div || v->op == BinaryOp::Mod;
          if (shift && v->rhs->constant >= 32) fail(fmt::format("{} ({}) shifts by 32 or more", v->key, field));
          if (division && v->rhs->constant == 0) fail(fmt::format("{} ({}) divides by 0", v->key, field));
        }
        check(v->lhs, assigned, field);
        check(v->rhs, assigned, field);
        return;
    }
    fail(fmt::format("a value of unknown kind ({})", field));
  }

  void fail(std::string message) { errors_.push_back({branch_, part_, std::move(message)}); }

  std::size_t branch_;
  std::string part_;
  std::vector<VerifyError>& errors_;
};

}  // namespace

std::string VerifyError::render() const { return fmt::format("branch {}, {}: {}", branch + 1, part, message); }

std::vector<VerifyError> verify(const Program& program) {
  std::vector<VerifyError> errors;
  // The program's framing runs before every branch, and always holds.
  Assigned every = std::set<std::string>{};
  if (program.framing) every = Verifier(0, "the program's framing", errors).check(program.framing, every).if_true;
  for (std::size_t i = 0; i < program.branches.size(); ++i) {
    const Branch& branch = program.branches[i];
    Assigned start = every;
    // The framing's assignments hold for the condition (link.hpp).
    Assigned framed = start;
    if (branch.framing) framed = Verifier(i, "framing", errors).check(branch.framing, start).if_true;
    Verifier(i, "condition", errors).check(branch.condition, framed);
    if (branch.ip_version != 0 && branch.ip_version != 4 && branch.ip_version != 6) {
      errors.push_back({i, "branch", fmt::format("IP version {}, not 4, 6 or 0 (both)", branch.ip_version)});
    }
    if (branch.link_offset > kMaxReadEnd) {
      errors.push_back({i, "branch", fmt::format("link offset {} past byte {}", branch.link_offset, kMaxReadEnd)});
    }
  }
  return errors;
}

}  // namespace p0fbpf::ir
