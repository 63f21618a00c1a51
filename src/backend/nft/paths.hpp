// A condition as the ways it can come out true (or false), each a sequence
// of compares in the order classic BPF evaluates them: nft rules are
// conjunctions, so a condition with alternatives becomes one rule per way.
// Keeping the compares an alternative is reached through (the failed
// earlier alternatives, the test of an if-then-else) makes the ways
// disjoint, and makes each rule read what the classic program read before
// it accepted: a packet too short for one of those reads is rejected by
// both.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "ir/ir.hpp"

namespace p0fbpf::nft {

// A compare and whether it must hold on this way.
struct Literal {
  ir::ConditionPtr compare;  // Condition::Kind::Compare
  bool holds = true;
};
using Path = std::vector<Literal>;

// The ways `condition` evaluates to `want`; nullopt when there would be more
// than `limit`, or the condition assigns variables (which nft has not).
std::optional<std::vector<Path>> paths(const ir::ConditionPtr& condition, bool want, std::size_t limit);

}  // namespace p0fbpf::nft
