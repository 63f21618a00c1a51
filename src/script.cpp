#include "p0fbpf/script.hpp"

#include <arpa/inet.h>

#include <cctype>

#include <fmt/format.h>

namespace p0fbpf {
namespace {

constexpr std::size_t kMaxComment = 255;  // xt_comment's limit

// Single-quoted for the shell.
std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

bool is_name(const std::string& s) {
  if (s.empty() || s.size() > 31) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

// The family of ADDR or ADDR/LEN, 0 if it is neither.
int address_family(const std::string& text) {
  std::string address = text.substr(0, text.find('/'));
  unsigned char buffer[16];
  int family = inet_pton(AF_INET, address.c_str(), buffer) == 1    ? 4
               : inet_pton(AF_INET6, address.c_str(), buffer) == 1 ? 6
                                                                   : 0;
  if (family && text.find('/') != std::string::npos) {
    std::string length = text.substr(text.find('/') + 1);
    if (length.empty() || length.size() > 3 || length.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(length) > (family == 4 ? 32 : 128)) {
      return 0;
    }
  }
  return family;
}

std::string printable(const std::string& text) {
  std::string out;
  for (char c : text) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  if (out.size() > kMaxComment) out = out.substr(0, kMaxComment - 3) + "...";
  return out;
}

}  // namespace

std::optional<std::string> check_script_options(const ScriptOptions& o) {
  if (!is_name(o.chain)) return fmt::format("--chain '{}' is not a chain name", o.chain);
  if (!is_name(o.target)) return fmt::format("--target '{}' is not a target name", o.target);
  if (!o.ipset.empty() && !is_name(o.ipset)) return fmt::format("--ipset '{}' is not a set name", o.ipset);
  if (!o.ipset.empty() && !o.destinations.empty()) return std::string("use either -d or --ipset, not both");
  for (const std::string& d : o.destinations) {
    if (!address_family(d)) return fmt::format("-d '{}' is not an IPv4 or IPv6 address or prefix", d);
  }
  return std::nullopt;
}

std::string firewall_script(const std::vector<FirewallRule>& rules, const ScriptOptions& o) {
  std::string out;
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "#!/usr/bin/env bash\n"
                 "# Written by {}. Installs {} firewall rule(s) that {} what these p0f\n"
                 "# signatures match. Running it again changes nothing.\n"
                 "#   bash {{this script}}           install the rules\n"
                 "#   bash {{this script}} --delete  remove exactly these rules\n"
                 "set -euo pipefail\n\n"
                 "action=install\n"
                 "case \"${{1-}}\" in\n"
                 "  \"\") ;;\n"
                 "  --delete) action=delete ;;\n"
                 "  *) echo \"usage: $0 [--delete]\" >&2; exit 2 ;;\n"
                 "esac\n\n"
                 "# rule TOOL CHAIN ARGUMENTS...: insert the rule unless it is there; with\n"
                 "# --delete, delete it as often as it is there.\n"
                 "rule() {{\n"
                 "  tool=$1\n"
                 "  chain=$2\n"
                 "  shift 2\n"
                 "  if [ \"$action\" = install ]; then\n"
                 "    \"$tool\" -C \"$chain\" \"$@\" 2>/dev/null || \"$tool\" -I \"$chain\" \"$@\"\n"
                 "  else\n"
                 "    while \"$tool\" -C \"$chain\" \"$@\" 2>/dev/null; do \"$tool\" -D \"$chain\" \"$@\"; done\n"
                 "  fi\n"
                 "}}\n\n",
                 o.generator.empty() ? "p0fbpf" : o.generator, rules.size(), o.target);
  for (const FirewallRule& r : rules) {
    std::vector<std::string> destinations;
    for (const std::string& d : o.destinations) {
      if (address_family(d) == r.ip_version) destinations.push_back("-d " + d);
    }
    if (!o.destinations.empty() && destinations.empty()) continue;  // none of this family
    if (destinations.empty()) destinations.push_back("");
    std::string tool = r.ip_version == 6 ? "ip6tables" : "iptables";
    std::string flags = r.direction == Direction::Request ? "--syn" : "--tcp-flags SYN,ACK,FIN,RST SYN,ACK";
    std::string set = o.ipset.empty() ? "" : " -m set --match-set " + o.ipset + " dst";
    for (const std::string& d : destinations) {
      fmt::format_to(it, "rule {} {} -p tcp {}{}{} -m bpf --bytecode {} -m comment --comment {} -j {}\n", tool, o.chain,
                     flags, d.empty() ? "" : " " + d, set, quote(r.bytecode), quote(printable("p0fbpf: " + r.comment)),
                     o.target);
    }
  }
  return out;
}

}  // namespace p0fbpf
