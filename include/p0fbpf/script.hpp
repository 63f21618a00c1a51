// Firewall scripts: a bash script that installs iptables/ip6tables rules
// with compiled programs, idempotently, and removes exactly them again.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/lower.hpp"

namespace p0fbpf {

struct FirewallRule {
  int ip_version = 4;          // iptables (4) or ip6tables (6)
  Direction direction = Direction::Request;
  std::string bytecode;        // the iptables format, one line without newline
  std::string comment;         // what the rule stands for (label or signature)
};

struct ScriptOptions {
  std::string chain = "INPUT";
  std::string target = "DROP";
  std::vector<std::string> destinations;  // -d ADDR[/LEN]; each goes to its family's rules
  std::string ipset;                      // -m set --match-set NAME dst
  std::string generator;                  // "p0fbpf VERSION", for the header
};

// Checks the options (names, addresses); an error message when they are not
// safe to put in a script.
std::optional<std::string> check_script_options(const ScriptOptions& options);

std::string firewall_script(const std::vector<FirewallRule>& rules, const ScriptOptions& options);

}  // namespace p0fbpf
