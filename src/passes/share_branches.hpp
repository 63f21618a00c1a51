// Sharing one branch among signatures that differ in a single check.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// Branches (of the same framing) whose checks are the same but for one
// become one branch with the two alternatives in that place: signatures of
// one label often differ in a single field.
ir::Program share_branches(const ir::Program& program, bool keep_signatures_apart = false);

}  // namespace p0fbpf
