// Lowering: a parsed signature becomes IR branches, one per IP version it
// covers (and, for `bad` signatures, per way the option walk can go wrong).
#pragma once

#include <optional>
#include <vector>

#include "p0fbpf/ast.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "ir/ir.hpp"
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

// The IP option length exact mode matches. p0f 3.09b's reader skips one
// character too many after `N-`, so it reads the IP option length without
// its first digit ("64-:4:" as olen 0, "64-:12:" as olen 2); matching
// follows what p0f read (docs/semantics.md §4.1). nullopt: '*'.
std::optional<unsigned> olen_as_p0f_reads_it(const Signature& signature);

}  // namespace p0fbpf
