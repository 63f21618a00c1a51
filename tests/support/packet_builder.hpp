// Builds raw IPv4/IPv6 TCP packets field by field, including malformed ones,
// for tests. Nothing here decides whether a packet matches: p0f does.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace p0fbpf::testing {

struct PacketSpec {
  bool ipv6 = false;
  std::array<std::uint8_t, 16> source{};
  std::array<std::uint8_t, 16> destination{};
  std::uint8_t ttl = 64;
  std::uint8_t tos = 0;             // IPv4 TOS, or IPv6 traffic class
  std::uint32_t flow_label = 0;     // IPv6 only, 20 bits
  std::uint16_t ip_id = 0;          // IPv4 only
  std::uint16_t fragment = 0x4000;  // IPv4 flags and fragment offset
  std::vector<std::uint8_t> ip_options;  // IPv4 only; padded to 4 bytes
  std::uint8_t protocol = 6;
  std::uint16_t source_port = 1024;
  std::uint16_t destination_port = 80;
  std::uint32_t seq = 1;
  std::uint32_t ack = 0;
  std::uint8_t flags = 0x02;
  std::uint8_t reserved = 0;  // low nibble of the data offset byte (NS = 1)
  std::optional<std::uint8_t> data_offset_words;  // default: fits the options
  std::uint16_t window = 0;
  std::uint16_t urgent = 0;
  std::vector<std::uint8_t> tcp_options;  // padded with zeros to 4 bytes
  std::vector<std::uint8_t> payload;
  std::optional<std::uint16_t> length_field;  // IPv4 total / IPv6 payload length
  std::size_t cut = 0;    // bytes missing from the end of what is captured
  std::size_t extra = 0;  // zero bytes after the datagram (link padding)
};

// The packet from its IP header on.
std::vector<std::uint8_t> build_packet(const PacketSpec& spec);

// Ethernet frame around an IP packet, with one 802.1Q tag if asked.
std::vector<std::uint8_t> ethernet_frame(const std::vector<std::uint8_t>& ip_packet, bool ipv6, bool vlan_tag = false);

// Linux cooked capture header (DLT_LINUX_SLL, or SLL2 if `v2`) around an IP
// packet, as a packet socket on any device sees it.
std::vector<std::uint8_t> cooked_frame(const std::vector<std::uint8_t>& ip_packet, bool ipv6, bool v2 = false);

}  // namespace p0fbpf::testing
