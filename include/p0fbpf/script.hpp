// Firewall scripts: a bash script that installs iptables/ip6tables rules
// with compiled programs, all or nothing and idempotently, and removes
// exactly them again.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p0fbpf/types.hpp"

namespace p0fbpf {

// xt_bpf's limit on a --bytecode program (XT_BPF_MAX_NUM_INSTR).
inline constexpr std::size_t kXtBpfMaxInstructions = 64;

struct FirewallRule {
  int ip_version = 4;          // iptables (4) or ip6tables (6)
  Direction direction = Direction::Request;
  std::string bytecode;        // the iptables format, one line without newline; none with a pinned program
  std::string comment;         // what the rule stands for (label or signature)
};

// xt_bpf's longest --object-pinned path (XT_BPF_PATH_MAX, with the NUL).
inline constexpr std::size_t kXtBpfMaxPath = 512;

// --pinned: one eBPF program for every rule (iptables -m bpf --object-pinned),
// which the script pins with `p0fbpf pin` when it is not there.
struct PinnedProgram {
  std::string directory;  // absolute, in a BPF file system
  std::string name;       // pin_name() of the program
  std::string p0fbpf;     // the p0fbpf that pins it, unless $P0FBPF names another
  std::vector<std::string> flags;       // p0fbpf pin's options (--response, --loose, -O0)
  std::vector<std::string> signatures;  // what it compiles
  std::string path() const { return directory + "/" + name; }
};

// The pin's name for a program (its iptables text): "p0fbpf_" and a short
// hash of it, so that the same program gets the same pin. bpffs refuses
// names with a '.', and this has none.
std::string pin_name(std::string_view program);

struct ScriptOptions {
  std::string chain = "INPUT";
  std::string target = "DROP";
  std::vector<std::string> destinations;  // -d ADDR[/LEN]; each goes to its family's rules
  // --ipset: V4SET,V6SET, or inet:NAME / inet6:NAME for one family, or a
  // bare NAME when every rule is of one family.
  std::string ipset;
  bool count_only = false;  // rules without a target: they count in iptables -v and change nothing
  std::string generator;    // "p0fbpf VERSION", for the header
  // --rate N/s: the target applies only to the matching SYNs beyond N a
  // second (xt_hashlimit, burst N). One budget per family for all rules
  // with this rate: flood sources are spoofed, so no per-source limit.
  std::optional<unsigned> rate_per_second;
  // Rules that run this program instead of their own --bytecode: at most
  // one rule per family (one -d each; --ipset for more addresses). The
  // script finds them by their markers, not with iptables -C, which
  // iptables-legacy cannot use for them (the rule holds the descriptor the
  // adding process opened the pin with).
  std::optional<PinnedProgram> pinned;
};

// The most --rate takes: xt_hashlimit's packet rates go up to 1,000,000/s
// (finer rates lose precision in its credit arithmetic).
inline constexpr unsigned kMaxRatePerSecond = 1000000;

// N from "N/s" (also "N/sec", "N/second"), 1 <= N <= kMaxRatePerSecond.
std::optional<unsigned> parse_rate(std::string_view text);

// Checks the options (names, addresses, the pin's directory and
// signatures); an error message when they are not
// safe to put in a script or not usable by iptables.
std::optional<std::string> check_script_options(const ScriptOptions& options);

// The text of an iptables comment for `text`: characters that a shell would
// treat specially inside double quotes (iptables -S prints comments that
// way) or that are not printable become '_', and it is cut to xt_comment's
// limit. `changed` tells whether anything was replaced.
std::string comment_text(std::string_view text, bool* changed = nullptr);

struct FirewallScript {
  std::string text;
  std::size_t rules = 0;  // rule lines in it; 0 means there is nothing to install
  std::optional<std::string> error;  // options that cannot go with these rules
};

// The script for the rules; every rule's bytecode must be within xt_bpf's
// limit (checked again by the script before it changes anything). With
// ScriptOptions::pinned, the script pins the program before it adds the
// rules and removes the pin it made if they fail; --delete removes the
// rules, then the pin unless another rule still names it.
FirewallScript firewall_script(const std::vector<FirewallRule>& rules, const ScriptOptions& options);

}  // namespace p0fbpf
