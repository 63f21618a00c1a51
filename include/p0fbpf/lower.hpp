// Lowering: a parsed signature becomes IR branches, one per IP version it
// covers (and, for `bad` signatures, per way the option walk can go wrong).
#pragma once

#include <vector>

#include "p0fbpf/ast.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/ir.hpp"
#include "p0fbpf/types.hpp"

namespace p0fbpf {

struct LowerOptions {
  MatchMode mode = MatchMode::Exact;
  Direction direction = Direction::Request;
  bool window_shortcut = true;  // see WindowFacts::shortcut
};

struct Lowered {
  std::vector<ir::Branch> branches;  // may be empty: the signature never matches
  std::vector<Diagnostic> warnings;
};

// Fails only for signatures the chosen mode cannot express (the `linux` quirk
// outside --loose).
Result<Lowered> lower(const Signature& signature, const LowerOptions& options);

}  // namespace p0fbpf
