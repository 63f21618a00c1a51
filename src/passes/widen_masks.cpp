#include "passes/widen_masks.hpp"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace p0fbpf {

using namespace ir;

namespace {

// At most this many bits left out of a mask are widened: 4 copies.
constexpr int kMaxWidenedBits = 2;

struct MaskedCheck {
  ValuePtr load;
  std::uint32_t mask = 0;
  std::uint32_t value = 0;
};

std::uint32_t width_mask(const Value& load) {
  return load.width == Width::Word ? 0xffffffffu : load.width == Width::Half ? 0xffffu : 0xffu;
}

// `(load & M) == K` or `load == K` on a load at a fixed offset.
std::optional<MaskedCheck> masked_check(const ConditionPtr& c) {
  if (c->kind != Condition::Kind::Compare || c->relation != Relation::Equal || c->negated) return std::nullopt;
  if (!c->rhs || !c->rhs->is_constant()) return std::nullopt;
  const ValuePtr& lhs = c->lhs;
  auto fixed_load = [](const ValuePtr& v) { return v && v->kind == Value::Kind::Load && !v->base; };
  if (fixed_load(lhs)) return MaskedCheck{lhs, width_mask(*lhs), c->rhs->constant};
  if (lhs->kind == Value::Kind::Binary && lhs->op == BinaryOp::And && fixed_load(lhs->lhs) && lhs->rhs->is_constant()) {
    return MaskedCheck{lhs->lhs, lhs->rhs->constant & width_mask(*lhs->lhs), c->rhs->constant};
  }
  return std::nullopt;
}

// `load & mask`, or the load itself where the mask keeps all of it, as the
// run's own checks read.
ValuePtr masked(const ValuePtr& load, std::uint32_t mask) {
  return mask == width_mask(*load) ? load : bit_and(load, mask);
}

std::optional<MaskedCheck> first_check(const Branch& branch) {
  std::vector<ConditionPtr> parts = conjuncts(branch.condition);
  if (parts.empty()) return std::nullopt;
  return masked_check(parts.front());
}

// The run's most used (load, mask) of first checks; ties go to the wider
// mask.
std::optional<std::pair<std::string, std::uint32_t>> run_mask(const std::vector<Branch>& run) {
  std::map<std::pair<std::string, std::uint32_t>, std::size_t> uses;
  for (const Branch& b : run) {
    if (auto c = first_check(b)) ++uses[{c->load->key, c->mask}];
  }
  std::optional<std::pair<std::string, std::uint32_t>> best;
  std::size_t best_uses = 0;
  for (const auto& [key, n] : uses) {
    if (n > best_uses || (n == best_uses && best && std::popcount(key.second) > std::popcount(best->second))) {
      best = key;
      best_uses = n;
    }
  }
  return best;
}

void widen_run(const std::vector<Branch>& run, std::vector<Branch>& out) {
  auto mask = run_mask(run);
  for (const Branch& b : run) {
    std::optional<MaskedCheck> c = first_check(b);
    std::uint32_t extra = c && mask ? mask->second & ~c->mask : 0;
    bool widens = c && mask && c->load->key == mask->first && (c->mask & ~mask->second) == 0 && extra != 0 &&
                  std::popcount(extra) <= kMaxWidenedBits && (c->value & ~c->mask) == 0;
    if (!widens) {
      out.push_back(b);
      continue;
    }
    std::vector<ConditionPtr> parts = conjuncts(b.condition);
    const std::string field = parts.front()->field;
    // Every value of the extra bits, counting up through the subsets of
    // `extra`.
    std::uint32_t subset = 0;
    do {
      parts.front() = eq(masked(c->load, mask->second), c->value | subset, field);
      Branch copy = b;
      copy.condition = all(parts);
      out.push_back(std::move(copy));
      subset = (subset - extra) & extra;
    } while (subset != 0);
  }
}

// Whether the branch's first check is one of the byte or half-word at the
// IP header's start.
bool narrow_at_start(const Branch& branch) {
  std::optional<MaskedCheck> c = first_check(branch);
  return c && c->load->offset == 0 && !c->load->frame && c->load->width != Width::Word &&
         (c->value & ~c->mask) == 0;  // else it never holds, and shifted it might
}

// The branch with that check made one of the word there.
Branch word_at_start(const Branch& branch) {
  std::vector<ConditionPtr> parts = conjuncts(branch.condition);
  std::optional<MaskedCheck> c = masked_check(parts.front());
  const std::uint32_t shift = 8 * (4 - static_cast<std::uint32_t>(c->load->width));
  parts.front() = eq(masked(load(Width::Word, 0), c->mask << shift), c->value << shift, parts.front()->field);
  Branch out = branch;
  out.condition = all(parts);
  return out;
}

}  // namespace

Program widen_first_masks(const Program& program) {
  Program out = program;
  out.branches.clear();
  const auto& b = program.branches;
  for (std::size_t start = 0; start < b.size();) {
    std::size_t end = start + 1;
    while (end < b.size() && same_run(b[start], b[end])) ++end;
    auto from = b.begin() + static_cast<std::ptrdiff_t>(start);
    std::vector<Branch> run(from, from + static_cast<std::ptrdiff_t>(end - start));
    if (std::all_of(run.begin(), run.end(), narrow_at_start)) {
      for (Branch& branch : run) branch = word_at_start(branch);
    }
    widen_run(run, out.branches);
    start = end;
  }
  return out;
}

}  // namespace p0fbpf
