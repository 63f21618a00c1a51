#include "passes/share_branches.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <optional>

namespace p0fbpf {

using namespace ir;

namespace {

// `h` with `v` folded in.
std::size_t mix(std::size_t h, std::size_t v) { return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)); }

// Equal for conditions that same_check finds the same (it compares these
// fields, and values by their keys).
std::size_t check_hash(const ConditionPtr& c) {
  if (!c) return 0;
  std::size_t h = static_cast<std::size_t>(c->kind);
  h = mix(h, static_cast<std::size_t>(c->relation));
  h = mix(h, (c->negated ? 2 : 0) | (c->truth ? 1 : 0));
  h = mix(h, c->children.size());
  h = mix(h, c->lhs ? std::hash<std::string>{}(c->lhs->key) : 0);
  h = mix(h, c->rhs ? std::hash<std::string>{}(c->rhs->key) : 0);
  for (const ConditionPtr& child : c->children) h = mix(h, check_hash(child));
  return h;
}

// A branch with its conjuncts taken apart, and their hashes, once.
struct Candidate {
  Branch branch;
  std::vector<ConditionPtr> parts;
  std::vector<std::size_t> hashes;
  std::size_t framing_hash = 0;

  explicit Candidate(Branch b) : branch(std::move(b)) { take_apart(); }
  void take_apart() {
    parts = conjuncts(branch.condition);
    hashes.clear();
    for (const ConditionPtr& part : parts) hashes.push_back(check_hash(part));
    framing_hash = check_hash(branch.framing);
  }
};

// The conjunct where a and b differ, if they differ in exactly one that
// no read guard holds, and agree on everything else that must match.
std::optional<std::size_t> sharable(const Candidate& a, const Candidate& b, bool keep_signatures_apart) {
  if (a.branch.link_offset != b.branch.link_offset || a.branch.ip_version != b.branch.ip_version) return std::nullopt;
  if (keep_signatures_apart && a.branch.signature != b.branch.signature) return std::nullopt;
  if (a.parts.size() != b.parts.size() || a.framing_hash != b.framing_hash) return std::nullopt;
  if (!a.branch.framing != !b.branch.framing || (a.branch.framing && !same_check(a.branch.framing, b.branch.framing))) {
    return std::nullopt;
  }
  // Different hashes are different checks; equal ones are compared only
  // for a pair that may share.
  std::size_t differing = 0, at = 0;
  for (std::size_t k = 0; k < a.parts.size() && differing < 2; ++k) {
    if (a.hashes[k] != b.hashes[k]) {
      ++differing;
      at = k;
    }
  }
  if (differing > 1) return std::nullopt;
  for (std::size_t k = 0; k < a.parts.size() && differing < 2; ++k) {
    if (a.hashes[k] == b.hashes[k] && !same_check(a.parts[k], b.parts[k])) {
      ++differing;
      at = k;
    }
  }
  if (differing != 1 || a.parts[at]->read_guard || b.parts[at]->read_guard) return std::nullopt;
  return at;
}

// Branches that may share at position k have the same key k: what
// sharable() requires to be equal, and the hashes of every check but the
// k-th, hashed.
std::vector<std::size_t> position_keys(const Candidate& c, bool keep_signatures_apart) {
  std::size_t base = std::hash<std::uint64_t>{}(c.branch.link_offset);
  base = mix(base, static_cast<std::size_t>(c.branch.ip_version));
  base = mix(base, keep_signatures_apart ? c.branch.signature : 0);
  base = mix(base, c.framing_hash);
  base = mix(base, c.parts.size());
  std::vector<std::size_t> at(c.hashes.size());
  std::size_t total = 0;
  for (std::size_t k = 0; k < at.size(); ++k) {
    at[k] = mix(mix(0, k), c.hashes[k]) * 0xff51afd7ed558ccdULL;
    total += at[k];
  }
  for (std::size_t k = 0; k < at.size(); ++k) at[k] = mix(mix(base, k), total - at[k]);
  return at;
}

}  // namespace

// Merges, again and again, the first pair of branches (in program order:
// the first branch, then its first partner) that differ in one check, the
// later into the earlier. After a merge only the earlier branch has
// changed: every pair before it was already found apart, and stays so but
// for pairs with the changed branch. So the scan goes on from there
// instead of from the start; and it looks only at the branches that could
// share at some position (the same key there: every other check the
// same), with the same result in about linear time for a database.
Program share_branches(const Program& program, bool keep_signatures_apart) {
  std::vector<Candidate> list;
  list.reserve(program.branches.size());
  for (const Branch& branch : program.branches) list.emplace_back(branch);
  std::vector<bool> alive(list.size(), true);
  std::vector<std::vector<std::size_t>> keys(list.size());
  std::unordered_map<std::size_t, std::vector<std::size_t>> index;  // key -> branches, in program order
  std::size_t all_parts = 0;
  for (const Candidate& c : list) all_parts += c.parts.size();
  index.reserve(all_parts);
  auto enter = [&](std::size_t i) {
    keys[i] = position_keys(list[i], keep_signatures_apart);
    for (std::size_t key : keys[i]) {
      std::vector<std::size_t>& members = index[key];
      if (members.empty() || members.back() < i) members.push_back(i);
      else if (!std::binary_search(members.begin(), members.end(), i)) {
        members.insert(std::lower_bound(members.begin(), members.end(), i), i);
      }
    }
  };
  auto leave = [&](std::size_t i) {
    for (std::size_t key : keys[i]) {
      std::vector<std::size_t>& members = index.find(key)->second;  // entered
      auto it = std::lower_bound(members.begin(), members.end(), i);
      if (it != members.end() && *it == i) members.erase(it);
    }
  };
  for (std::size_t i = 0; i < list.size(); ++i) enter(i);
  auto merge = [&](std::size_t into, std::size_t from, std::size_t at) {
    Candidate& a = list[into];
    std::vector<ConditionPtr> x = a.parts;
    x[at] = any({x[at], list[from].parts[at]});
    a.branch.condition = all(std::move(x));
    a.branch.label += " | " + list[from].branch.label;
    a.take_apart();
    leave(from);
    alive[from] = false;
    leave(into);
    enter(into);
  };
  // The first branch after i (or, `before`, before i) that shares with it,
  // and where.
  auto partner = [&](std::size_t i, bool before) -> std::optional<std::pair<std::size_t, std::size_t>> {
    std::optional<std::pair<std::size_t, std::size_t>> best;
    for (std::size_t key : keys[i]) {
      const std::vector<std::size_t>& members = index.find(key)->second;  // entered
      auto from = before ? members.begin() : std::upper_bound(members.begin(), members.end(), i);
      for (auto it = from; it != members.end() && (!before || *it < i); ++it) {
        if (best && *it >= best->first) break;
        std::optional<std::size_t> at = before ? sharable(list[*it], list[i], keep_signatures_apart)
                                               : sharable(list[i], list[*it], keep_signatures_apart);
        if (at) {
          best = std::pair{*it, *at};
          break;
        }
      }
    }
    return best;
  };

  for (std::size_t i = 0; i < list.size();) {
    if (!alive[i]) {
      ++i;
      continue;
    }
    std::optional<std::pair<std::size_t, std::size_t>> next = partner(i, false);
    if (!next) {
      ++i;
      continue;
    }
    merge(i, next->first, next->second);
    // Branch i changed: the first pair now is (e, i) for the earliest e
    // that shares with it, and then e changed; else (i, j) again.
    while (std::optional<std::pair<std::size_t, std::size_t>> back = partner(i, true)) {
      merge(back->first, i, back->second);
      i = back->first;
    }
  }
  Program out = program;
  out.branches.clear();
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (alive[i]) out.branches.push_back(std::move(list[i].branch));
  }
  return out;
}

}  // namespace p0fbpf
