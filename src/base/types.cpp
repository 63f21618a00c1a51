#include "p0fbpf/types.hpp"

namespace p0fbpf {

std::optional<LinkType> parse_link_type(std::string_view name) {
  if (name == "raw") return LinkType::Raw;
  if (name == "ether") return LinkType::Ethernet;
  if (name == "sll") return LinkType::LinuxCooked;
  if (name == "sll2") return LinkType::LinuxCooked2;
  if (name == "null") return LinkType::Loopback;
  return std::nullopt;
}

}  // namespace p0fbpf
