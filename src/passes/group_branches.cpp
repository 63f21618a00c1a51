#include "passes/group_branches.hpp"

#include <algorithm>
#include <compare>
#include <cstddef>
#include <numeric>
#include <vector>

namespace p0fbpf {

using namespace ir;

namespace {

// Constants by their number, so that ranges of one value sort in order;
// computed values after them, by their keys.
std::strong_ordering order_values(const ValuePtr& a, const ValuePtr& b) {
  if (!a || !b) return !b <=> !a;
  if (a->is_constant() != b->is_constant()) return b->is_constant() <=> a->is_constant();
  if (a->is_constant()) return a->constant <=> b->constant;
  return a->key <=> b->key;
}

// A total order of checks in which checks of the same value are neighbours,
// and same_check's equal checks are equal.
std::strong_ordering order_checks(const ConditionPtr& a, const ConditionPtr& b) {
  if (auto c = a->kind <=> b->kind; c != 0) return c;
  switch (a->kind) {
    case Condition::Kind::Compare:
    case Condition::Kind::Assign:
      if (auto c = order_values(a->lhs, b->lhs); c != 0) return c;
      if (auto c = a->relation <=> b->relation; c != 0) return c;
      if (auto c = a->negated <=> b->negated; c != 0) return c;
      return order_values(a->rhs, b->rhs);
    case Condition::Kind::Constant:
      return a->truth <=> b->truth;
    case Condition::Kind::All:
    case Condition::Kind::Any:
    case Condition::Kind::Select:
      break;
  }
  std::size_t n = std::min(a->children.size(), b->children.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (auto c = order_checks(a->children[i], b->children[i]); c != 0) return c;
  }
  return a->children.size() <=> b->children.size();
}

bool same_run(const Branch& a, const Branch& b) {
  if (a.ip_version != b.ip_version || a.link_offset != b.link_offset || !a.framing != !b.framing) return false;
  return !a.framing || same_check(a.framing, b.framing);
}

}  // namespace

Program group_branches(const Program& program) {
  const std::vector<Branch>& in = program.branches;
  std::vector<std::vector<ConditionPtr>> parts(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) parts[i] = conjuncts(in[i].condition);
  auto before = [&](std::size_t x, std::size_t y) {
    const std::vector<ConditionPtr>& p = parts[x];
    const std::vector<ConditionPtr>& q = parts[y];
    for (std::size_t k = 0; k < p.size() && k < q.size(); ++k) {
      if (auto c = order_checks(p[k], q[k]); c != 0) return c < 0;
    }
    return p.size() < q.size();
  };
  std::vector<std::size_t> order(in.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t begin = 0, end = 0; begin < in.size(); begin = end) {
    for (end = begin + 1; end < in.size() && same_run(in[begin], in[end]);) ++end;
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(begin),
                     order.begin() + static_cast<std::ptrdiff_t>(end), before);
  }
  Program out;
  out.gate = program.gate;
  out.branches.reserve(in.size());
  for (std::size_t i : order) out.branches.push_back(in[i]);
  return out;
}

}  // namespace p0fbpf
