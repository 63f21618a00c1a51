// Code generation's sharing step: blocks with the same instructions and the
// same jump targets become one.
#pragma once

#include "backend/classic/pending_code.hpp"

namespace p0fbpf {

// Two blocks (labels, then instructions up to a jump or return) with the
// same instructions and the same jump targets compute the same thing from
// the same registers: the earlier one goes, and jumps to it go to the later
// one (so jumps still point forward). Only blocks that nothing falls into
// are removed.
PendingCode merge_identical_blocks(PendingCode code);

}  // namespace p0fbpf
