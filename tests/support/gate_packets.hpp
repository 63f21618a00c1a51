// Packets for the SYN gate's tests (syn_gate_test, lockout_test): a SYN
// that a signature matches, one it does not, and packets that are not the
// direction's TCP SYN, each built so that a negated program without the
// gate would accept it.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.hpp"

namespace p0fbpf::testing {

// A signature of Linux's SYN (p0f.fp's 3.11-and-newer shape) that
// linux_syn() matches exactly and other_syn() does not.
inline constexpr const char* kGateSignature = "*:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0";

PacketSpec linux_syn(bool ipv6);
// The same SYN with a window that is no multiple of the MSS.
PacketSpec other_syn(bool ipv6);

// An ARP request from 02:00:00:00:00:01, broadcast, padded to 60 bytes.
std::vector<std::uint8_t> arp_request();

struct NamedPacket {
  std::string name;
  PacketSpec packet;
};

// Established TCP, SYN+ACK, FIN+ACK, RST, SYN+FIN, ICMP (ICMPv6: neighbour
// discovery's protocol), UDP, and for IPv4 a first and a later fragment,
// for IPv6 a SYN behind an extension header: none of them a SYN p0f
// fingerprints.
std::vector<NamedPacket> not_syns(bool ipv6);

}  // namespace p0fbpf::testing
