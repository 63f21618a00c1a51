#include "flood.hpp"

#include "p0f_oracle.hpp"
#include "p0fbpf/parser.hpp"
#include "packet_builder.hpp"
#include "signature_packets.hpp"

namespace p0fbpf::bench {

using namespace p0fbpf::testing;

std::vector<std::vector<std::uint8_t>> flood_frames(std::size_t count, bool varied) {
  Random rng(2026);
  const char* tools[] = {kDesignCard, "*:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0",
                         "*:64-:0:1460:1024,0:mss::0"};
  std::vector<PacketSpec> bases;
  for (const char* tool : tools) bases.push_back(matching_packet(*parse_signature(tool), false, false, rng));
  std::vector<std::vector<std::uint8_t>> frames;
  frames.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    PacketSpec p;
    if (varied) {
      Result<Signature> sig = parse_signature(kDesignCard);
      p = i % 3 == 0 ? matching_packet(*sig, false, false, rng)
          : i % 3 == 1 ? mutate(matching_packet(*sig, false, false, rng), rng)
                       : random_packet(i % 6 == 5, false, rng);
    } else if (i % 10 == 9) {
      p = random_packet(i % 20 == 19, false, rng);
    } else {
      p = bases[rng() % bases.size()];
      p.ttl = static_cast<std::uint8_t>((p.ttl > 100 ? 128 : 64) - 5 - rng() % 16);
      p.seq = static_cast<std::uint32_t>(rng()) | 1;
      if (p.ip_id) p.ip_id = static_cast<std::uint16_t>(rng() | 1);
    }
    p.flags = 0x02;
    assign_flow(p, i, false);
    frames.push_back(ethernet_frame(build_packet(p), p.ipv6));
  }
  return frames;
}

}  // namespace p0fbpf::bench
