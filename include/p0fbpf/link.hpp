// Link layers: where the IP header starts in what the filter sees, and what
// the link-layer header must say first. A pass over IR programs.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "p0fbpf/ir.hpp"

namespace p0fbpf {

enum class LinkType {
  Raw,          // the IP header first: iptables, ip6tables, tc; DLT_RAW captures
  Ethernet,     // EtherType IPv4/IPv6, or one 802.1Q tag in front of either
  LinuxCooked,  // Linux "cooked" capture (DLT_LINUX_SLL), 16-byte header
  Loopback,     // BSD loopback/null (DLT_NULL, DLT_LOOP), 4-byte family
};

struct LinkLayer {
  LinkType type = LinkType::Raw;
  std::uint32_t l3_offset = 0;  // Raw only: bytes before the IP header (bpftools -o)
};

std::optional<LinkType> parse_link_type(std::string_view name);

// Each branch for every way the link layer can frame it, with the link
// checks in front and its IP header offset set.
ir::Program apply_link(const ir::Program& program, const LinkLayer& link);

}  // namespace p0fbpf
