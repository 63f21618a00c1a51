// One branch for both IP versions: the IPv4 and IPv6 branches of a `*`
// signature check the same TCP header at different offsets. The shared
// branch checks each version's IP header, assigns where the TCP header
// starts to a variable (kept in X), and checks the TCP header once through
// it.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// The variable that says where the TCP header starts in a shared branch:
// its offset from the IP header, less the smaller of the two versions'
// (so 0 for IPv4 without options, which costs nothing at a program's start).
ir::ValuePtr tcp_offset_variable();

// Each IPv4 branch with a fixed TCP offset absorbs the later IPv6 branch of
// the same framing with which it has the most TCP checks in common, when
// its first check tells the versions apart.
// Where the two still differ after the IP header (p0f's window divisors
// depend on the version), the shared branch tests the version there.
// Accepts the same packets; smaller, and a few instructions slower per
// packet. Length guards leading both branches (negated programs) stay with
// their version, behind one for what both read first.
ir::Program share_versions(const ir::Program& program, bool keep_signatures_apart = false);

}  // namespace p0fbpf
