// Whether two exact-mode signatures share a packet: one that p0f 3.09b
// would strictly match against both (docs/semantics.md §6.3). Decided field
// by field, the window by trying the values either signature allows.
#pragma once

#include <optional>

#include "p0fbpf/ast.hpp"

namespace p0fbpf {

// The values of a packet both signatures match, where they may differ; the
// rest (layout, quirks, option length, payload) is what both signatures say.
struct SharedPacket {
  int ip_version = 4;
  unsigned ttl = 0;
  unsigned mss = 0;
  unsigned window = 0;
  unsigned scale = 0;
  unsigned ip_option_length = 0;
  bool payload = false;
};

// A packet both match, or nullopt if there is none. The mtu*M windows are
// computed for the TCP header the layout implies, with `sack` and `?N`
// options taken at their smallest (2 bytes, 10 for `sack`).
std::optional<SharedPacket> shared_packet(const Signature& a, const Signature& b);

}  // namespace p0fbpf
