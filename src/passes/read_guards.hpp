// Read guards: checks that only keep later reads inside the packet.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// The read guards of the last branch, and of each branch that only branches
// of the other IP version follow, go: a read past the packet there ends the
// program with 0, as the guard would have, or as the later branches would,
// which cannot accept a packet of this version. Not for negated programs.
ir::Program drop_last_read_guards(const ir::Program& program);

// For negated programs, where a read past the packet (which ends a program
// with 0) would mean "matches": each branch first checks that the packet
// holds every byte the branch reads at a fixed offset. Packets a branch
// accepts always hold them, so no verdict changes.
ir::Program guard_fixed_reads(const ir::Program& program);

}  // namespace p0fbpf
