// Which IP version's branches a program tries first.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// Within each run of branches for one IP version or the other (a branch
// for both versions ends a run), the branches of the version with fewer
// distinct first checks go first, each version's in their order; on a tie
// the version of the run's first branch. A packet of the other version then
// fails those few checks (with jump threading, one compare each) instead of
// walking the many: an IPv4 selection's first checks differ by datagram
// length, IPv6's rarely. Either way each version's branches follow one
// another, which the version split of a raw IP program needs
// (codegen.hpp), and group-branches sorts within. No packet can be accepted by branches of both versions,
// so every packet meets the same first branch that accepts it, as the
// verdict per signature needs.
ir::Program order_versions(const ir::Program& program);

}  // namespace p0fbpf
