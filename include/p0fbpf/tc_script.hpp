// tc scripts: a bash script that puts one cls_bpf filter with a compiled
// program on a device's clsact hook (ingress or egress), idempotently, and
// removes exactly it again.
#pragma once

#include <optional>
#include <string>

namespace p0fbpf {

// The largest classic program tc puts on a device. cls_bpf itself takes
// BPF_MAXINSNS (4096), but tc (iproute2) sends the filter in one netlink
// message of at most 16 KB: measured with iproute2 6.1, `bpf bytecode` of
// 2040 instructions and no action, 2033 with `action mirred egress mirror
// dev DEV continue`, and no more. 2000 leaves room for the action's words.
inline constexpr std::size_t kTcMaxInstructions = 2000;

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
