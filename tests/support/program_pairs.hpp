// Two compilations of the same selections that must give the same verdicts:
// a code generation step (jump threading, search trees) against the
// program without it, over every label of a database.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "p0fbpf/bpf_program.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"

namespace p0fbpf::testing {

// One form of one label, compiled both ways.
struct ProgramPair {
  const DatabaseLabel& label;
  const CompileOptions& options;  // the new program's
  const BpfProgram& now;
  const BpfProgram& before;
};

struct PairCounts {
  std::size_t programs = 0, changed = 0, smaller = 0, packets = 0, accepted = 0;
};

// Every label of `database` with signatures, and its whole [tcp:request]
// section, in every form a program takes (exact and loose, raw IP and
// Ethernet, plain, negated, a verdict per signature and behind the SYN
// gate, within 64 and 4096 instructions), compiled with the options
// `now` sets and again with those `before` changes from them. Both must
// compile, the new program must be valid and lose no fit, and the two must
// return the same on packets built around the label's signatures (seeded
// with `seed`; behind Ethernet, untagged and behind an 802.1Q tag). `check` adds its own assertions on each pair. Fatal
// failures end the walk (HasFatalFailure()).
PairCounts compare_program_pairs(const Database& database, std::uint64_t seed,
                                 const std::function<void(CompileOptions&)>& now,
                                 const std::function<void(CompileOptions&)>& before,
                                 const std::function<void(const ProgramPair&)>& check = {});

}  // namespace p0fbpf::testing
