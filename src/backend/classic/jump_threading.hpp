// Code generation's threading step: a jump whose target tests what the path
// to it already decided goes past that test.
#pragma once

#include "backend/classic/pending_code.hpp"

namespace p0fbpf {

// Each signature's code starts again with the same loads and compares
// (`ld [0]; and #M; jeq #C`), and a failed test jumps to the next
// signature's code, which often must fail (or hold) the same way. Here
// every jump is retargeted past the blocks whose compare the facts on its
// path decide: the outcomes of compares of the same packet value (same load
// and constant operations) or, for equality, of a load of overlapping bytes
// (`ld [0]` and `ldb [0]`), known on every path to the jump, and the jump's
// own outcome. A block is gone past only if it does nothing but compute A
// from loads already done on the path (or within the bytes of one) and
// compare it with a constant, and
// the new target either reloads A or expects the value A already holds.
// A jump to a block that starts by computing the value A already holds
// (`ld [0]; and #M` after a failed `jeq` of that same value) goes past
// that computation, to a label placed after it. A load through X marked
// kXHoldsLinkShift counts as a load of fixed bytes (behind Ethernet, the
// shift is one value for the frame), and a block may start with a marked
// reload of the shift into X where X holds it on the path already. No
// instruction is added; code that no jump reaches any more is removed. The
// verdict of every packet stays the same.
PendingCode thread_jumps(const PendingCode& code);

}  // namespace p0fbpf
