#include "packet_builder.hpp"

namespace p0fbpf::testing {
namespace {

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}

}  // namespace

std::vector<std::uint8_t> build_packet(const PacketSpec& s) {
  std::vector<std::uint8_t> tcp;
  put16(tcp, s.source_port);
  put16(tcp, s.destination_port);
  put32(tcp, s.seq);
  put32(tcp, s.ack);
  std::vector<std::uint8_t> options = s.tcp_options;
  while (options.size() % 4) options.push_back(0);
  auto words = s.data_offset_words.value_or(static_cast<std::uint8_t>(5 + options.size() / 4));
  tcp.push_back(static_cast<std::uint8_t>((words << 4) | (s.reserved & 0x0f)));
  tcp.push_back(s.flags);
  put16(tcp, s.window);
  put16(tcp, 0);  // checksum: p0f does not look at it
  put16(tcp, s.urgent);
  tcp.insert(tcp.end(), options.begin(), options.end());
  tcp.insert(tcp.end(), s.payload.begin(), s.payload.end());

  std::vector<std::uint8_t> out;
  if (s.ipv6) {
    std::uint32_t first = (6u << 28) | (std::uint32_t{s.tos} << 20) | (s.flow_label & 0xfffff);
    put32(out, first);
    put16(out, s.length_field.value_or(static_cast<std::uint16_t>(tcp.size())));
    out.push_back(s.protocol);
    out.push_back(s.ttl);
    out.insert(out.end(), s.source.begin(), s.source.end());
    out.insert(out.end(), s.destination.begin(), s.destination.end());
  } else {
    std::vector<std::uint8_t> ip_options = s.ip_options;
    while (ip_options.size() % 4) ip_options.push_back(0);
    std::size_t header = 20 + ip_options.size();
    out.push_back(static_cast<std::uint8_t>(0x40 | ((header / 4) & 0x0f)));
    out.push_back(s.tos);
    put16(out, s.length_field.value_or(static_cast<std::uint16_t>(header + tcp.size())));
    put16(out, s.ip_id);
    put16(out, s.fragment);
    out.push_back(s.ttl);
    out.push_back(s.protocol);
    put16(out, 0);  // checksum, below
    out.insert(out.end(), s.source.begin(), s.source.begin() + 4);
    out.insert(out.end(), s.destination.begin(), s.destination.begin() + 4);
    out.insert(out.end(), ip_options.begin(), ip_options.end());
    // A valid header checksum, so that the kernel's ip_rcv lets it through.
    std::uint32_t sum = 0;
    for (std::size_t i = 0; i + 1 < out.size(); i += 2) sum += (out[i] << 8) | out[i + 1];
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    out[10] = static_cast<std::uint8_t>(sum >> 8);
    out[11] = static_cast<std::uint8_t>(sum);
  }
  out.insert(out.end(), tcp.begin(), tcp.end());
  out.insert(out.end(), s.extra, 0);
  out.resize(out.size() > s.cut ? out.size() - s.cut : 0);
  return out;
}

std::vector<std::uint8_t> ethernet_frame(const std::vector<std::uint8_t>& ip_packet, bool ipv6, bool vlan_tag) {
  std::vector<std::uint8_t> frame = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  if (vlan_tag) {
    put16(frame, 0x8100);
    put16(frame, 42);  // VLAN id
  }
  put16(frame, ipv6 ? 0x86dd : 0x0800);
  frame.insert(frame.end(), ip_packet.begin(), ip_packet.end());
  return frame;
}

std::vector<std::uint8_t> cooked_frame(const std::vector<std::uint8_t>& ip_packet, bool ipv6, bool v2) {
  const std::uint16_t protocol = ipv6 ? 0x86dd : 0x0800;
  std::vector<std::uint8_t> frame;
  if (v2) {
    put16(frame, protocol);
    put16(frame, 0);                         // reserved
    frame.insert(frame.end(), {0, 0, 0, 2});  // interface index
    put16(frame, 1);                         // ARPHRD_ETHER
    frame.insert(frame.end(), {0, 6});       // packet type (host), address length
  } else {
    put16(frame, 0);  // packet type: to us
    put16(frame, 1);  // ARPHRD_ETHER
    put16(frame, 6);  // address length
  }
  frame.insert(frame.end(), {0x02, 0, 0, 0, 0, 0x01, 0, 0});  // address, padded to 8
  if (!v2) put16(frame, protocol);
  frame.insert(frame.end(), ip_packet.begin(), ip_packet.end());
  return frame;
}

}  // namespace p0fbpf::testing
