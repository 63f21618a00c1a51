#include "gate_packets.hpp"

namespace p0fbpf::testing {

PacketSpec linux_syn(bool ipv6) {
  PacketSpec p;
  p.ipv6 = ipv6;
  p.ttl = 64;
  p.ip_id = ipv6 ? 0 : 4321;
  p.fragment = ipv6 ? 0 : 0x4000;
  p.window = 1460 * 20;
  p.seq = 1000;
  p.tcp_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
  return p;
}

PacketSpec other_syn(bool ipv6) {
  PacketSpec p = linux_syn(ipv6);
  p.window = 1000;
  return p;
}

std::vector<std::uint8_t> arp_request() {
  std::vector<std::uint8_t> frame = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06,
                                     0, 1, 0x08, 0x00, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1,
                                     0, 0, 0, 0, 0, 0, 10, 0, 0, 2};
  frame.resize(60, 0);  // Ethernet's minimum, padded
  return frame;
}

std::vector<NamedPacket> not_syns(bool ipv6) {
  std::vector<NamedPacket> out;
  auto add = [&](const std::string& name, PacketSpec p) { out.push_back({name + (ipv6 ? " (IPv6)" : " (IPv4)"), p}); };
  PacketSpec p = linux_syn(ipv6);
  p.flags = 0x10;  // ACK: an established connection
  p.ack = 77;
  add("established TCP", p);
  p.flags = 0x12;
  add("SYN+ACK", p);
  p.flags = 0x11;
  add("FIN+ACK", p);
  p.flags = 0x04;
  add("RST", p);
  p.flags = 0x03;
  add("SYN+FIN", p);
  p = linux_syn(ipv6);
  p.protocol = ipv6 ? 58 : 1;  // ICMP, ICMPv6 (neighbour discovery), with SYN-like bytes behind
  add(ipv6 ? "ICMPv6" : "ICMP", p);
  p.protocol = 17;
  add("UDP", p);
  if (ipv6) {
    p = linux_syn(true);
    p.protocol = 0;  // a hop-by-hop header first: p0f reads no TCP behind it
    add("behind an extension header", p);
  } else {
    p = linux_syn(false);
    p.fragment = 0x2000;  // the first fragment of several
    add("first fragment", p);
    p.fragment = 0x0010;  // a later fragment
    add("later fragment", p);
  }
  return out;
}

}  // namespace p0fbpf::testing
