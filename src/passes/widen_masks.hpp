// Masked first checks widened: to the word at the IP header's start, and to
// the mask most of their run uses.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// Within each run of branches for one IP version and framing, the mask
// most first checks `(load & M) == K` of one load use is the run's. A
// branch whose first check masks the same load with fewer bits, at most
// two fewer (`(load & M1) == K` with M1 inside M), becomes a branch per
// value of the bits it leaves out, each first checking `(load & M) == K'`,
// side by side where it stood: a packet meets one of them at most, so the
// verdicts and the first accepting signature stay. The run's first checks
// are then one value's, which group_branches sorts together and code
// generation decides in one tree, instead of a compare of its own before
// it that every packet of the version meets (IPv4's `ecn` signatures,
// whose first word leaves the ECN bits out).
//
// Before that, a run whose branches all first check the byte or half-word
// at the IP header's start (--loose's IPv6 branches, which check the
// version alone) checks the word there instead, the same bits: what the
// version split of a raw IP program has loaded already (codegen.hpp), so
// its first branch reads nothing again. A run of mixed first checks stays
// as it is: a branch that reads the word with another mask would sort
// before the others, which do not then follow the split.
ir::Program widen_first_masks(const ir::Program& program);

}  // namespace p0fbpf
