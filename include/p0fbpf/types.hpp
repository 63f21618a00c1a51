// The small vocabulary the public headers share: which packets a program is
// for and how it matches them. Headers that need only these include this one,
// not the pass that uses them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace p0fbpf {

enum class IpVersion { V4, V6, Any };

enum class MatchMode {
  Exact,  // p0f 3.09b's strict match (docs/semantics.md §2, §3.1)
  Loose,  // only the fields the signature names (docs/semantics.md §3.2)
};

enum class Direction {
  Request,   // SYN, p0f.fp [tcp:request]
  Response,  // SYN+ACK, p0f.fp [tcp:response]
};

enum class LinkType {
  Raw,           // the IP header first: iptables, ip6tables, tc; DLT_RAW captures
  Ethernet,      // EtherType IPv4/IPv6, or one 802.1Q tag in front of either
  LinuxCooked,   // Linux "cooked" capture (DLT_LINUX_SLL), 16-byte header
  LinuxCooked2,  // Linux "cooked" capture v2 (DLT_LINUX_SLL2), 20-byte header
  Loopback,      // BSD loopback/null (DLT_NULL, DLT_LOOP), 4-byte family
};

// The --link names: raw, ether, sll, sll2, null.
std::optional<LinkType> parse_link_type(std::string_view name);

struct LinkLayer {
  LinkType type = LinkType::Raw;
  std::uint32_t l3_offset = 0;  // Raw only: bytes before the IP header (bpftools -o)
};

}  // namespace p0fbpf
