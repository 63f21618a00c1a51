// The SYN gate: what a program must see before it decides anything. On
// hooks that see every frame (XDP, tc), a program that p0fbpf makes decides
// only about TCP SYNs (SYN+ACKs for responses); ARP, neighbour discovery,
// ICMP and established TCP pass, whatever --negate says. The gate is IR
// branches at the IP header, like a signature's, that the link pass frames.
#pragma once

#include <optional>

#include "ir/ir.hpp"
#include "p0fbpf/types.hpp"

namespace p0fbpf {

// One branch per IP version (only `ip_version`'s, when given): the packet
// is a TCP segment in an unfragmented IPv4 datagram, or right behind the
// fixed IPv6 header, long enough to hold the TCP flags, whose SYN, ACK,
// FIN and RST flags are the direction's (SYN; SYN+ACK for responses).
// With `guarded`, every read is checked against the packet's length first,
// so that a short packet fails the gate rather than ending the program;
// without, a short packet ends it with 0, which a gate that returns 0 for
// what it lets by may leave to classic BPF.
ir::Program syn_gate(Direction direction, std::optional<int> ip_version, bool guarded);

}  // namespace p0fbpf
