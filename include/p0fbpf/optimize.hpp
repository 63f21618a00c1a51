// The IR optimization pipeline (-O1); each pass has a header of its own.
#pragma once

#include "p0fbpf/ir.hpp"

namespace p0fbpf {

// Per branch, merging neighbouring checks and dropping length checks that
// a later read of the datagram's last byte implies; then sharing branches.
// The passes that depend on how a program is used (read guards, one branch
// for both IP versions) are the compiler's choice.
ir::Program optimize(const ir::Program& program);

// optimize's passes that see one branch at a time; optimize(p) is
// share_branches(optimize_each_branch(p)), so a branch's result can be kept
// and reused in every program it goes into.
ir::Program optimize_each_branch(const ir::Program& program);

}  // namespace p0fbpf
