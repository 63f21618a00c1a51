// What p0f 3.09b derives from a packet (SEMANTICS.md §2): the facts its
// signatures are matched against. Used to fingerprint captures.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "p0fbpf/ast.hpp"

namespace p0fbpf {

struct PacketFacts {
  int ip_version = 4;
  std::uint8_t ttl = 0;
  std::uint32_t ip_option_length = 0;
  std::uint8_t tcp_type = 0;  // flags & (SYN|ACK|FIN|RST)
  std::uint32_t quirks = 0;   // bit (1 << Quirk)
  std::vector<std::uint8_t> layout;  // option kinds, at most 24
  std::uint32_t eol_padding = 0;
  std::uint16_t mss = 0;
  std::uint8_t window_scale = 0;
  std::uint32_t ts1 = 0;
  std::uint16_t window = 0;
  bool payload = false;
  std::uint32_t header_total = 0;  // IP header + TCP header

  bool has(Quirk q) const { return quirks & (1u << static_cast<int>(q)); }
  bool is_syn() const { return tcp_type == 0x02; }
  bool is_syn_ack() const { return tcp_type == 0x12; }
};

// The packet from its IP header on, `length` bytes of it present. Nothing is
// read past `length`. nullopt where p0f would drop the packet (not TCP,
// truncated, a fragment, silly flags...).
std::optional<PacketFacts> analyze_packet(const std::uint8_t* data, std::size_t length);

// The raw_sig p0f prints for the packet (without the peer-MSS window rule
// that only SYN+ACKs with flow state get).
std::string raw_signature(const PacketFacts& facts);

}  // namespace p0fbpf
