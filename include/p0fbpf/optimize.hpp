// Optimization passes over the IR.
#pragma once

#include "p0fbpf/ir.hpp"

namespace p0fbpf {

// Equality checks on neighbouring bytes at fixed offsets (the same base)
// become one masked compare of a half-word or word: version and header
// length with the total length, an option's kind and length with the next
// option's. A merged check stands where its last part stood, so no byte is
// loaded earlier than before. Only the checks of a branch's top level merge.
ir::ConditionPtr merge_neighbouring_checks(const ir::ConditionPtr& condition);

// Branches (of the same framing) whose checks are the same but for one
// become one branch with the two alternatives in that place: signatures of
// one label often differ in a single field.
ir::Program share_branches(const ir::Program& program);

// All passes: merging neighbouring checks, dropping length checks that a
// later read of the datagram's last byte implies, sharing branches.
ir::Program optimize(const ir::Program& program);

// The last branch's read guards go: a read past the packet there ends the
// program with 0, as the guard would have. Not for negated programs.
ir::Program drop_last_read_guards(const ir::Program& program);

// For negated programs, where a read past the packet (which ends a program
// with 0) would mean "matches": each branch first checks that the packet
// holds every byte the branch reads at a fixed offset. Packets a branch
// accepts always hold them, so no verdict changes.
ir::Program guard_fixed_reads(const ir::Program& program);

}  // namespace p0fbpf
