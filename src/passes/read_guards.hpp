// Read guards: checks that only keep later reads inside the packet.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// A read guard goes where no later branch accepts a packet it keeps out:
// in the last branch, in each branch that only branches of the other IP
// version follow, and, where the branches count lengths from one place (no
// framing, one link offset), a guard `length >= K` where every later branch
// of the version accepts only packets of K bytes or more (its own length
// checks and fixed reads say so) and the branch itself reads byte K-1 in a
// check that always runs. A read past the packet there ends the program
// with 0, as the later branches would. Not for negated programs.
ir::Program drop_last_read_guards(const ir::Program& program);

// For negated programs, where a read past the packet (which ends a program
// with 0) would mean "matches": each branch first checks that the packet
// holds every byte the branch reads at a fixed offset. Packets a branch
// accepts always hold them, so no verdict changes.
ir::Program guard_fixed_reads(const ir::Program& program);

}  // namespace p0fbpf
