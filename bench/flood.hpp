// The benchmarks' synthetic SYN flood, shared so that the capture and the
// kernel benchmarks measure the same packets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace p0fbpf::bench {

// The design card's signature: one of the flood's tools sends it.
inline constexpr const char* kDesignCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

// `count` SYNs as untagged Ethernet frames, each its own flow. The flood:
// 90% from three flood tools (fixed stack parameters; random addresses,
// ports, sequence numbers, IP IDs; TTLs from bots 5 to 20 hops away) and 10%
// other traffic. `varied` instead draws every packet at random: nearly every
// SYN has a signature of its own. The same count gives the same frames.
std::vector<std::vector<std::uint8_t>> flood_frames(std::size_t count, bool varied);

}  // namespace p0fbpf::bench
