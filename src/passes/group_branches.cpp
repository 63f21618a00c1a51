#include "passes/group_branches.hpp"

#include <algorithm>
#include <compare>
#include <cstddef>
#include <functional>
#include <numeric>
#include <queue>
#include <string_view>
#include <unordered_map>
#include <utility>
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

// Whether the value reads a variable, which each branch assigns for itself:
// the same text may then stand for different numbers in two branches.
bool reads_variable(const ValuePtr& v) {
  if (!v) return false;
  if (v->kind == Value::Kind::Variable) return true;
  return reads_variable(v->base) || reads_variable(v->lhs) || reads_variable(v->rhs);
}

// A branch's checks `value == constant`, the value by its number in
// `values`, sorted: what tells two branches apart.
using Equalities = std::vector<std::pair<std::uint32_t, std::uint32_t>>;

Equalities equalities(const std::vector<ConditionPtr>& parts,
                      std::unordered_map<std::string_view, std::uint32_t>& values) {
  Equalities out;
  for (const ConditionPtr& c : parts) {
    if (c->kind != Condition::Kind::Compare || c->relation != Relation::Equal || c->negated) continue;
    if (!c->rhs->is_constant() || c->lhs->is_constant() || reads_variable(c->lhs)) continue;
    auto [at, added] = values.try_emplace(c->lhs->key, static_cast<std::uint32_t>(values.size()));
    out.emplace_back(at->second, c->rhs->constant);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// No packet satisfies both: they compare one value with different constants.
bool disjoint(const Equalities& a, const Equalities& b) {
  for (std::size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i].first < b[j].first) {
      ++i;
    } else if (b[j].first < a[i].first) {
      ++j;
    } else {
      if (a[i].second != b[j].second) return true;
      ++i, ++j;
    }
  }
  return false;
}

// Branches begin to end in the order `before` sorts them, except that a
// branch stays after an earlier one of another signature unless the two are
// disjoint: of the branches whose earlier partners are placed, the first
// in sorted order comes next.
template <typename Before>
void sort_keeping_verdicts(std::vector<std::size_t>& order, std::size_t begin, std::size_t end, Before before,
                           const std::vector<Branch>& in, const std::vector<Equalities>& tells) {
  const std::size_t n = end - begin;
  std::vector<std::size_t> sorted(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                  order.begin() + static_cast<std::ptrdiff_t>(end));
  std::stable_sort(sorted.begin(), sorted.end(), before);
  std::vector<std::size_t> rank(n);
  for (std::size_t r = 0; r < n; ++r) rank[sorted[r] - begin] = r;
  // Up to one entry per pair of branches: 4 bytes each.
  std::vector<std::vector<std::uint32_t>> followers(n);
  std::vector<std::uint32_t> waiting(n, 0);
  for (std::size_t j = 0; j < n; ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      if (in[begin + i].signature == in[begin + j].signature) continue;
      if (disjoint(tells[begin + i], tells[begin + j])) continue;
      followers[i].push_back(static_cast<std::uint32_t>(j));
      ++waiting[j];
    }
  }
  // The free branches by rank, lowest first.
  std::priority_queue<std::pair<std::size_t, std::size_t>, std::vector<std::pair<std::size_t, std::size_t>>,
                      std::greater<>>
      free;
  for (std::size_t i = 0; i < n; ++i) {
    if (waiting[i] == 0) free.emplace(rank[i], i);
  }
  for (std::size_t placed = 0; placed < n; ++placed) {
    std::size_t next = free.top().second;
    free.pop();
    order[begin + placed] = begin + next;
    for (std::uint32_t j : followers[next]) {
      if (--waiting[j] == 0) free.emplace(rank[j], j);
    }
  }
}

// The branches' new order. What it weighs them by (their checks, what
// tells them apart) is let go before the program is copied in that order.
std::vector<std::size_t> grouped_order(const std::vector<Branch>& in, bool per_signature) {
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
  std::vector<Equalities> tells;
  if (per_signature) {
    std::unordered_map<std::string_view, std::uint32_t> values;
    tells.reserve(in.size());
    for (const std::vector<ConditionPtr>& p : parts) tells.push_back(equalities(p, values));
  }
  std::vector<std::size_t> order(in.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t begin = 0, end = 0; begin < in.size(); begin = end) {
    for (end = begin + 1; end < in.size() && same_run(in[begin], in[end]);) ++end;
    if (per_signature) {
      sort_keeping_verdicts(order, begin, end, before, in, tells);
    } else {
      std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(begin),
                       order.begin() + static_cast<std::ptrdiff_t>(end), before);
    }
  }
  return order;
}

}  // namespace

Program group_branches(const Program& program, bool per_signature) {
  std::vector<std::size_t> order = grouped_order(program.branches, per_signature);
  Program out;
  out.gate = program.gate;
  out.branches.reserve(order.size());
  for (std::size_t i : order) out.branches.push_back(program.branches[i]);
  return out;
}

}  // namespace p0fbpf
