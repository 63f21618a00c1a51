// What p0f 3.09b derives from a packet (docs/semantics.md §2): the facts its
// signatures are matched against. Used to fingerprint captures.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/ast.hpp"

namespace p0fbpf {

struct PacketFacts {
  int ip_version = 4;
  std::uint8_t ttl = 0;
  std::uint32_t ip_option_length = 0;
  std::uint8_t tcp_type = 0;  // flags & (SYN|ACK|FIN|RST)
  std::uint32_t quirks = 0;   // bit (1 << Quirk)
  // Option kinds: a fixed array, so that analysing a packet allocates
  // nothing.
  std::array<std::uint8_t, kMaxTcpOptions> layout{};
  std::uint8_t option_count = 0;
  std::uint32_t eol_padding = 0;
  std::uint16_t mss = 0;
  std::uint8_t window_scale = 0;
  std::uint32_t ts1 = 0;
  std::uint16_t window = 0;
  bool payload = false;
  std::uint32_t header_total = 0;  // IP header + TCP header

  bool has(Quirk q) const { return quirks & (1u << static_cast<int>(q)); }
  bool is_syn() const { return tcp_type == tcp_flag::kSyn; }
  bool is_syn_ack() const { return tcp_type == (tcp_flag::kSyn | tcp_flag::kAck); }
  std::vector<std::uint8_t> options() const { return {layout.begin(), layout.begin() + option_count}; }
};

// The packet from its IP header on, `length` bytes of it present. Nothing is
// read past `length`. nullopt where p0f would drop the packet (not TCP,
// truncated, a fragment, silly flags...).
std::optional<PacketFacts> analyze_packet(const std::uint8_t* data, std::size_t length);

// Exactly what p0f's raw_sig shows of a packet: equal fields, equal text.
// Plain bytes (zero padding included), so that it can serve as a hash key.
struct SignatureFields {
  std::uint8_t ip_version = 0;
  std::uint8_t ttl = 0;
  std::uint8_t window_scale = 0;
  std::uint8_t option_count = 0;
  std::uint8_t mss_wildcard = 0;  // p0f-sendsyn's MSS on a SYN+ACK shows as '*'
  std::uint8_t window_kind = 0;   // 0: the size, 1: mss*M, 2: mtu*M
  std::uint8_t payload = 0;
  std::uint8_t unused = 0;
  std::uint32_t ip_option_length = 0;
  std::uint32_t mss = 0;
  std::uint32_t window = 0;  // the size or the multiplier M
  std::uint32_t quirks = 0;
  std::uint32_t eol_padding = 0;
  std::array<std::uint8_t, kMaxTcpOptions> layout{};
};

// p0f's view of the packet as a raw_sig (without the peer-MSS window rule
// that only SYN+ACKs with flow state get).
SignatureFields signature_fields(const PacketFacts& facts);
void append_signature(const SignatureFields& fields, std::string& out);
std::string raw_signature(const PacketFacts& facts);

}  // namespace p0fbpf
