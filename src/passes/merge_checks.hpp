// Merging checks of neighbouring bytes into fewer, wider compares.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// Equality checks on neighbouring bytes at fixed offsets (the same base)
// become one masked compare of a half-word or word: version and header
// length with the total length, an option's kind and length with the next
// option's. A range on a byte after fixed bytes becomes a range on the word
// ending with it. A merged check stands where its last part stood, so no
// byte is loaded earlier than before. Only the checks of a branch's top
// level merge.
ir::ConditionPtr merge_neighbouring_checks(const ir::ConditionPtr& condition);

// Length checks that a later read of the datagram's last byte makes
// redundant (see Condition::implied_by_last_byte) go.
ir::ConditionPtr drop_implied_length_checks(const ir::ConditionPtr& condition);

}  // namespace p0fbpf
