// Which branches a program tries side by side.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// Within each run of branches for the same IP version and framing, the
// branches sorted by their checks, first check first (a stable sort: equal
// branches keep their order). Branches that start with the same checks then
// follow one another, and a packet that fails one of those checks goes past
// all of them at once (jump threading) instead of meeting the check again
// further down. Only for a program whose verdict is the same whichever
// branch accepts: a verdict per signature is the first accepting branch's.
// No branch ends the program early for a packet another branch accepts
// (read guards; a read past a truncated datagram, which no branch accepts),
// so the order of the branches decides nothing else.
ir::Program group_branches(const ir::Program& program);

}  // namespace p0fbpf
