// tc scripts: a bash script that puts one cls_bpf filter with a compiled
// program on a device's clsact hook (ingress or egress), idempotently, and
// removes exactly it again.
#pragma once

#include <optional>
#include <string>

namespace p0fbpf {

// BPF_MAXINSNS: what cls_bpf takes in one classic program.
inline constexpr std::size_t kTcMaxInstructions = 4096;

struct TcScriptOptions {
  std::string device;
  std::string direction = "ingress";  // or "egress"
  std::string action = "drop";        // tc action words for a match, e.g. "pass" or "mirred egress mirror dev d1"
  unsigned priority = 3056;           // the filter's pref, which identifies it
  std::string description;            // what the filter stands for (labels or signatures)
  std::string generator;              // "p0fbpf VERSION", for the header
};

// An error message when the options are not safe to put in a script or not
// usable by tc.
std::optional<std::string> check_tc_script_options(const TcScriptOptions& options);

// The script. tc runs a classic program from the link-layer header on an
// Ethernet device and from the IP header on an L3 device (tun, WireGuard,
// IP tunnels); the script picks `ethernet_bytecode` or `ip_bytecode` (the
// iptables format) from the device's type when it runs.
std::string tc_script(const std::string& ethernet_bytecode, const std::string& ip_bytecode,
                      const TcScriptOptions& options);

}  // namespace p0fbpf
