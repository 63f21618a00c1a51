// Programs in the kernel, without a compiler: an XDP program on a device
// (attach, stats, detach) and a socket filter pinned for iptables -m bpf
// --object-pinned. The eBPF comes from the classic program by translation.
// All of it needs root (CAP_BPF, CAP_NET_ADMIN).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/types.hpp"

// Neither <pcap/bpf.h> nor <linux/bpf.h> here: both define struct bpf_insn.
namespace p0fbpf {
struct BpfProgram;
}

namespace p0fbpf::xdp {

enum class Mode {
  Auto,     // native where the driver has it, else generic
  Native,   // in the driver (XDP_FLAGS_DRV_MODE)
  Generic,  // after the driver, for any device (XDP_FLAGS_SKB_MODE)
};
const char* mode_name(Mode mode);

// Where the IP header starts in what a device's XDP program sees: Ethernet
// devices give the Ethernet frame, L3 devices (tun, WireGuard) the IP
// packet. nullopt (with `error` set) for a device that is neither, or none.
std::optional<LinkType> device_link(const std::string& device, std::string& error);

struct AttachRequest {
  std::string device;
  std::vector<std::string> slot_names;  // what verdicts 1, 2, ... stand for
  bool count_only = false;
  Mode mode = Mode::Auto;
  // Pins go under BPFFS/p0fbpf/DEVICE/. /sys/fs/bpf gets a BPF file system
  // if it has none; another directory must have one.
  std::string bpffs = "/sys/fs/bpf";
};

struct AttachResult {
  std::string error;  // empty on success
  Mode mode = Mode::Auto;  // the mode used
  std::uint32_t program_id = 0;
  std::uint32_t replaced_id = 0;  // the p0fbpf program it replaced, atomically, or 0
  std::string pin_directory;
  bool mounted_bpffs = false;  // /sys/fs/bpf had no BPF file system; one was mounted
};

// Loads the program and its maps, pins them, and attaches the program; a
// p0fbpf program already on the device is replaced in one step, with no
// moment without a filter. Refuses a device that has another XDP program.
// All or nothing: on failure the device and the pins are as they were.
// `classic` is compiled for device_link() with
// CompileOptions::verdict_per_signature: verdict v counts in slot v.
AttachResult attach(const AttachRequest& request, const BpfProgram& classic);

struct SlotCount {
  std::string name;
  std::uint64_t packets = 0;
};

struct Stats {
  std::uint32_t program_id = 0;
  Mode mode = Mode::Auto;
  bool count_only = false;
  std::uint64_t seen = 0;
  std::vector<SlotCount> matches;  // per signature, in slot order
};

// The counters of the p0fbpf program on the device, found through the
// device (its program, then the program's maps), so that it works in any
// process and network namespace that sees the device. nullopt with `error`
// when the device has no p0fbpf program.
std::optional<Stats> stats(const std::string& device, std::string& error);

struct DetachResult {
  std::string error;
  std::uint32_t program_id = 0;  // what was detached; 0: nothing was attached
};

// Detaches p0fbpf's program (never another's) and removes its pins.
// Detaching from a device without one succeeds and does nothing.
DetachResult detach(const std::string& device, const std::string& bpffs = "/sys/fs/bpf");

// The classic program translated into an eBPF socket filter and pinned at
// `path` (in bpffs), replacing what was pinned there in one step; the
// program iptables -m bpf --object-pinned PATH runs. Returns an error
// message, empty on success.
std::string pin_socket_filter(const BpfProgram& classic, const std::string& path);

}  // namespace p0fbpf::xdp
