// Recursive-descent parser for p0f TCP signatures (docs/semantics.md §1),
// with p0fbpf's extensions (§1.7): bare `eol`, `*` IP option length, the
// `linux` quirk.
#pragma once

#include <string_view>

#include "p0fbpf/ast.hpp"
#include "p0fbpf/diagnostic.hpp"

namespace p0fbpf {

// Parses exactly one signature; surrounding white space is an error, so the
// caller decides what to trim. Never throws; every failure is a Diagnostic
// whose span points into `text`.
Result<Signature> parse_signature(std::string_view text);

}  // namespace p0fbpf
