// SYNs of two kinds of sender, for tests of suggest: a Linux-like stack and
// a scanner-like one, with the fields a suggestion may widen as parameters.
#pragma once

#include "packet_builder.hpp"

namespace p0fbpf::testing {

// Options mss,sok,ts,nop,ws (ts1 non-zero), DF and a non-zero IP ID.
inline PacketSpec linux_syn(unsigned ttl, unsigned mss, unsigned window, unsigned scale) {
  PacketSpec p;
  p.ttl = static_cast<std::uint8_t>(ttl);
  p.ip_id = 0x1234;
  p.window = static_cast<std::uint16_t>(window);
  p.tcp_options = {2, 4, static_cast<std::uint8_t>(mss >> 8), static_cast<std::uint8_t>(mss & 0xff),
                   4, 2,
                   8, 10, 1, 2, 3, 4, 0, 0, 0, 0,
                   1,
                   3, 3, static_cast<std::uint8_t>(scale)};
  return p;
}

// One MSS option, no DF, a non-zero IP ID.
inline PacketSpec scanner_syn(unsigned ttl, unsigned window, unsigned mss = 1460) {
  PacketSpec p;
  p.ttl = static_cast<std::uint8_t>(ttl);
  p.fragment = 0;
  p.ip_id = 0x4321;
  p.window = static_cast<std::uint16_t>(window);
  p.tcp_options = {2, 4, static_cast<std::uint8_t>(mss >> 8), static_cast<std::uint8_t>(mss & 0xff)};
  return p;
}

}  // namespace p0fbpf::testing
