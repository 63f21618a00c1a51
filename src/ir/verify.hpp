// Checks that an IR program is well formed, so that a pass that breaks it is
// caught right after it runs (CompileOptions::verify_each_pass), not as a
// wrong program later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace p0fbpf::ir {

// No read ends farther than this from its base: past the largest IP datagram
// (65535 bytes) behind any link header.
inline constexpr std::uint64_t kMaxReadEnd = 65535 + 256;

struct VerifyError {
  std::size_t branch;  // index into Program::branches
  std::string part;    // "framing" or "condition"
  std::string message;

  std::string render() const;
};

// Every problem found, none if the program is well formed: each variable is
// assigned on every path before it is read; loads are 1, 2 or 4 bytes wide
// and end within kMaxReadEnd; frame loads have no base; shifts by a constant
// are by less than 32 and no division or remainder is by the constant 0;
// compares and assignments have both operands (an assignment's left one a
// variable); All and Any have children, Select has three.
std::vector<VerifyError> verify(const Program& program);

}  // namespace p0fbpf::ir
