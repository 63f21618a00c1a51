// Code generation's search step: a chain of compares of one value becomes a
// search tree.
#pragma once

#include "backend/classic/pending_code.hpp"

namespace p0fbpf {

// After jump threading, a packet that fails one group of signatures meets
// the next group's first compare of the same value, then the next group's:
// `jeq`, `jgt` and `jge` of A with constants, with nothing between them but
// labels and unconditional jumps (the IPv4 word of version and datagram
// length, IPv6's word of payload length and hop limit). Such a chain is a
// function of A: a piece of code to go on with for each interval of A's
// values. The walk down it grows with the number of groups; a search tree
// over the intervals grows with its logarithm.
//
// Each chain's first compare is replaced, where it stands, by the tree of
// the same function, if the tree runs fewer instructions on average over
// the intervals and no more for any; it jumps straight to the code each
// interval leads to, past unconditional jumps. The chain's other compares
// stay for the jumps that still reach them, and go if none does. Every
// packet reaches the code it reached before, with the same registers; the
// program may be longer (jump_layout.hpp may need more far jumps).
//
// Returns the code unchanged if no chain gains.
PendingCode balance_compare_chains(const PendingCode& code);

}  // namespace p0fbpf
