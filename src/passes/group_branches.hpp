// Which branches a program tries side by side.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// Within each run of branches for the same IP version and framing, the
// branches sorted by their checks, first check first (a stable sort: equal
// branches keep their order). Branches that start with the same checks then
// follow one another, and a packet that fails one of those checks goes past
// all of them at once (jump threading) instead of meeting the check again
// further down. No branch ends the program early for a packet another
// branch accepts (read guards; a read past a truncated datagram, which no
// branch accepts), so the order of the branches decides nothing but which
// branch accepts first.
//
// With a verdict per signature (per_signature), which is the first
// accepting branch's signature, a branch moves before an earlier one only
// where the two accept for the same signature or can accept no packet in
// common: both compare one value with different constants, a value the
// packet alone decides (no variable that a branch assigns). Of the
// branches free to come next, the one that sorts first does.
ir::Program group_branches(const ir::Program& program, bool per_signature = false);

}  // namespace p0fbpf
