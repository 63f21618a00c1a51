#include "passes/read_guards.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace p0fbpf {

using namespace ir;

namespace {

constexpr std::uint32_t kAnyLength = std::numeric_limits<std::uint32_t>::max();

// The fewest bytes, from the IP header, that a packet the condition of a
// branch behind `link_offset` accepts holds: its top-level length checks,
// and the fixed reads of its top-level compares, every one of which runs
// before it holds (a read past the end ends the program).
std::uint32_t least_length(const ConditionPtr& condition, std::uint32_t link_offset) {
  std::uint32_t need = 0;
  for (const ConditionPtr& c : conjuncts(condition)) {
    if (c->kind != Condition::Kind::Compare) continue;
    need = std::max(need, read_end(c, nullptr, link_offset));
    if (c->negated || c->lhs->kind != Value::Kind::PacketLength || !c->rhs->is_constant()) continue;
    // The program compares the frame's length with K plus the link header:
    // a K that wraps there says nothing.
    std::uint32_t k = c->rhs->constant;
    if (k > kAnyLength - 1 - link_offset) continue;
    if (c->relation == Relation::GreaterEqual) need = std::max(need, k);
    if (c->relation == Relation::Greater) need = std::max(need, k + 1);
  }
  return std::min(need, kAnyLength - 1);
}

// The branch without its read guards.
ConditionPtr unguarded(const ConditionPtr& condition) {
  std::vector<ConditionPtr> kept;
  for (const auto& child : conjuncts(condition)) {
    if (!child->read_guard) kept.push_back(child);
  }
  return all(std::move(kept));
}

// Whether the guard keeps only packets shorter than `length` out.
bool guards_below(const ConditionPtr& guard, std::uint32_t length) {
  if (length == kAnyLength) return true;
  if (guard->kind != Condition::Kind::Compare || guard->negated || guard->lhs->kind != Value::Kind::PacketLength ||
      !guard->rhs->is_constant()) {
    return false;
  }
  std::uint32_t k = guard->rhs->constant;
  return guard->relation == Relation::GreaterEqual ? k <= length
         : guard->relation == Relation::Greater   ? k < length
                                                   : false;
}

}  // namespace

Program drop_last_read_guards(const Program& program) {
  Program out = program;
  // Lengths compare across branches only where each counts from the same
  // place: no framing, one link offset.
  bool comparable = std::all_of(out.branches.begin(), out.branches.end(), [&](const Branch& b) {
    return !b.framing && b.link_offset == out.branches.front().link_offset;
  });
  // The fewest bytes a packet of each IP version holds that a later branch
  // accepts (kAnyLength: no later branch accepts one).
  std::uint32_t after_v4 = kAnyLength, after_v6 = kAnyLength;
  for (std::size_t i = out.branches.size(); i-- > 0;) {
    Branch& branch = out.branches[i];
    std::uint32_t after = branch.ip_version == 4   ? after_v4
                          : branch.ip_version == 6 ? after_v6
                                                   : std::min(after_v4, after_v6);
    if (branch.condition->kind == Condition::Kind::All) {
      // Where a later branch accepts packets of some length, a guard goes
      // only if the branch itself reads as far unguarded: else it might
      // accept a packet the guard kept out (a read inside alternatives may
      // not run).
      std::uint32_t own =
          after == kAnyLength ? kAnyLength : least_length(unguarded(branch.condition), branch.link_offset);
      std::vector<ConditionPtr> kept;
      for (const auto& child : branch.condition->children) {
        if (!child->read_guard || !guards_below(child, std::min(after, own))) kept.push_back(child);
      }
      branch.condition = all(std::move(kept));
    }
    std::uint32_t need = comparable ? least_length(branch.condition, branch.link_offset) : 0;
    if (branch.ip_version != 6) after_v4 = std::min(after_v4, need);
    if (branch.ip_version != 4) after_v6 = std::min(after_v6, need);
  }
  return out;
}

Program guard_fixed_reads(const Program& program) {
  Program out = program;
  for (Branch& branch : out.branches) {
    std::uint32_t end = read_end(branch.condition, nullptr, branch.link_offset);
    // Frames shorter than their link header fail the same check: the
    // packet length is counted from the IP header, and is compared as the
    // frame length minus the link header.
    branch.condition = all({read_guard(ge(packet_length(), std::max<std::uint32_t>(end, 1), "packet holds every fixed read")),
                            branch.condition});
  }
  return out;
}

}  // namespace p0fbpf
