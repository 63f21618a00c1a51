#include "p0fbpf/link.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

constexpr std::uint32_t kEthernetHeader = 14;
constexpr std::uint32_t kVlanTag = 4;
constexpr std::uint32_t kCookedHeader = 16;
constexpr std::uint32_t kLoopbackHeader = 4;
constexpr std::uint32_t kEtherTypeVlan = 0x8100;

std::uint32_t ether_type(int ip_version) { return ip_version == 6 ? 0x86dd : 0x0800; }

Branch framed(const Branch& branch, std::uint32_t offset, ConditionPtr link_check) {
  Branch out = branch;
  out.link_offset = offset;
  out.condition = all({std::move(link_check), branch.condition});
  return out;
}

}  // namespace

std::optional<LinkType> parse_link_type(std::string_view name) {
  if (name == "raw") return LinkType::Raw;
  if (name == "ether") return LinkType::Ethernet;
  if (name == "sll") return LinkType::LinuxCooked;
  if (name == "null") return LinkType::Loopback;
  return std::nullopt;
}

Program apply_link(const Program& program, const LinkLayer& link) {
  Program out;
  for (const Branch& branch : program.branches) {
    std::uint32_t type = ether_type(branch.ip_version);
    switch (link.type) {
      case LinkType::Raw:
        out.branches.push_back(framed(branch, link.l3_offset, always()));
        break;
      case LinkType::Ethernet:
        out.branches.push_back(framed(branch, kEthernetHeader,
                                      eq(frame_load(Width::Half, 12), type, "link: ethertype")));
        out.branches.push_back(framed(
            branch, kEthernetHeader + kVlanTag,
            all({eq(frame_load(Width::Half, 12), kEtherTypeVlan, "link: 802.1Q tag"),
                 eq(frame_load(Width::Half, 16), type, "link: ethertype")})));
        break;
      case LinkType::LinuxCooked:
        out.branches.push_back(framed(branch, kCookedHeader,
                                      eq(frame_load(Width::Half, 14), type, "link: protocol")));
        break;
      case LinkType::Loopback:
        // The family is in host byte order and differs between systems; the
        // IP version nibble decides, as in p0f.
        out.branches.push_back(framed(branch, kLoopbackHeader, always()));
        break;
    }
  }
  return out;
}

}  // namespace p0fbpf
