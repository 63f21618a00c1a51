#include "backend/nft/names.hpp"

#include <algorithm>
#include <array>
#include <string>

#include "p0fbpf/nft.hpp"

namespace p0fbpf {
namespace nft {

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 31) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!letter(name[0])) return false;
  for (char c : name) {
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

bool is_reserved_word(std::string_view name) {
  // Sorted, for binary_search.
  static constexpr std::array<std::string_view, 159> kWords = {
    "accept", "add", "ah", "all", "and", "arp", "bridge", "cgroup", "chain", "comment", "comp", "constant",
    "continue", "counter", "cpu", "create", "ct", "day", "dccp", "define", "delete", "describe", "destroy", "device",
    "devices", "dnat", "drop", "dst", "dup", "dynamic", "ecn", "element", "elements", "eq", "esp", "ether", "exists",
    "expires", "export", "exthdr", "fib", "flags", "flow", "flowtable", "flush", "frag", "fwd", "ge", "geneve",
    "get", "goto", "gre", "gretap", "gt", "handle", "hbh", "hook", "hour", "ibriport", "ibrname", "icmp", "icmpv6",
    "igmp", "iif", "iifgroup", "iifname", "iiftype", "import", "include", "index", "inet", "insert", "interval",
    "ip", "ip6", "ipsec", "jhash", "jump", "last", "le", "limit", "list", "log", "lshift", "lt", "map", "mark",
    "masquerade", "meta", "meter", "mh", "missing", "monitor", "ne", "netdev", "nftrace", "not", "notrack", "numgen",
    "obriport", "obrname", "offload", "oif", "oifgroup", "oifname", "oiftype", "or", "osf", "pkttype", "policy",
    "position", "priority", "queue", "quota", "random", "redefine", "redirect", "reject", "rename", "replace",
    "reset", "return", "rshift", "rt", "rt0", "rt2", "rtclassid", "rule", "ruleset", "sctp", "secmark", "set",
    "size", "skgid", "skuid", "snat", "socket", "srh", "symhash", "synproxy", "table", "tcp", "th", "time",
    "timeout", "tproxy", "tunnel", "type", "typeof", "udp", "udplite", "undefine", "update", "vlan", "vmap", "vni",
    "vxlan", "xor", "xt",
  };
  return std::binary_search(kWords.begin(), kWords.end(), name);
}

bool is_device_name(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace nft

std::string nft_comment(std::string_view text, bool* changed) {
  constexpr std::size_t kMax = 128;
  std::string out;
  bool replaced = false;
  for (char c : text.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    bool safe = u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
    out += safe ? c : '_';
    replaced = replaced || !safe;
  }
  if (text.size() > kMax) replaced = true;
  if (changed) *changed = replaced;
  return out;
}

}  // namespace p0fbpf
