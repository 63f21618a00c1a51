// Code generation's search step: a chain of compares of one value becomes a
// search tree.
#pragma once

#include <optional>

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
// A chain's first compare stays: the group that the program tests first
// keeps its single compare (group_branches.hpp sorts a value's constants
// up: IPv4's shortest datagrams, which SYN flood tools send, come first;
// on a SYN flood's frames a tree from the first compare ran more
// instructions than the chain). Where it fails, the chain's second
// compare is replaced, where it stands, by the tree of the function the
// rest of the chain computes, if the tree runs fewer instructions on
// average over the intervals and no more for any; it jumps straight to the
// code each interval leads to, past unconditional jumps. The chain's other
// compares stay for the jumps that still reach them, and go if none does.
// Every packet reaches the code it reached before, with the same
// registers; the program may be longer (jump_layout.hpp may need more far
// jumps).
//
// nullopt if no chain gains.
std::optional<PendingCode> balance_compare_chains(const PendingCode& code);

}  // namespace p0fbpf
