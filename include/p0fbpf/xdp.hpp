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
  // Pins go under BPFFS/p0fbpf/NETNS_IFINDEX/ (the device's network
  // namespace inode and index). /sys/fs/bpf gets a BPF file system if it
  // has none; another directory must have one.
  std::string bpffs = "/sys/fs/bpf";
  // The verdict of `classic` for a frame that is not a TCP SYN of its
  // direction (CompileOptions::syn_gate's not_syn_verdict): such frames are
  // counted as seen, never as SYNs, and pass. nullopt: no SYN gate.
  std::optional<std::uint32_t> not_syn_verdict;
};

struct AttachResult {
  std::string error;  // empty on success
  Mode mode = Mode::Auto;  // the mode used
  std::uint32_t program_id = 0;
  std::uint32_t replaced_id = 0;  // the p0fbpf program it replaced, atomically, or 0
  bool unchanged = false;  // the same selection was attached already: nothing changed
  std::size_t kept_counters = 0;  // signatures whose counts the new program took over
  std::string pin_directory;
  bool mounted_bpffs = false;  // /sys/fs/bpf had no BPF file system; one was mounted
  std::string note;  // something else the operator should know, or empty
};

// Loads the program and its maps, pins them, and attaches the program; a
// p0fbpf program already on the device is replaced in one step, with no
// moment without a filter, and the new counters start from the old ones
// (frames, SYNs, and each signature the new selection keeps, by name).
// The same selection again (same program, action, slots, mode and pin
// place) changes nothing. Refuses a device that has another XDP program,
// and pins where something that is not p0fbpf's is pinned.
// All or nothing: on failure the device and the pins are as they were.
// `classic` is compiled for device_link() with
// CompileOptions::verdict_per_signature: verdict v counts in slot v.
// Not safe against a concurrent attach or detach: callers serialise (the
// command line takes SystemLock).
AttachResult attach(const AttachRequest& request, const BpfProgram& classic);

struct SlotCount {
  std::string name;
  std::uint64_t packets = 0;
};

struct Stats {
  std::uint32_t program_id = 0;
  Mode mode = Mode::Auto;
  bool count_only = false;
  std::uint64_t seen = 0;             // frames the program saw
  std::optional<std::uint64_t> syns;  // of them, TCP SYNs of the direction (with the SYN gate)
  std::uint64_t attached_unix = 0;    // when p0fbpf was first attached (counters kept since); 0: unknown
  std::vector<SlotCount> matches;     // per signature, in slot order
};

// The counters of the p0fbpf program on the device, found through the
// device (its program, then the program's maps), so that it works in any
// process and network namespace that sees the device. nullopt with `error`
// when the device has no p0fbpf program.
std::optional<Stats> stats(const std::string& device, std::string& error);

struct DetachResult {
  std::string error;
  std::uint32_t program_id = 0;  // what was detached; 0: nothing was attached
  std::vector<std::string> removed;  // the pin directories removed
  // Pins the detach could not reach: in /sys/fs/bpf, which this process
  // does not see (ip netns exec mounts a /sys of its own). Empty if none.
  std::string pins_left;
};

// Detaches p0fbpf's program (never another's) and removes its pins, found
// through the program (where its attach put them, whatever `bpffs` says).
// A device that is gone, or renamed, has its pins in `bpffs` removed: the
// pins of a device of that name in this network namespace whose program is
// no longer attached. Detaching from a device without a program succeeds
// and does nothing (but remove stale pins of it).
DetachResult detach(const std::string& device, const std::string& bpffs = "/sys/fs/bpf");

// A p0fbpf pin directory under BPFFS/p0fbpf.
struct PinDirectory {
  enum class State {
    Attached,        // its program is on its device
    Stale,           // its program is on no device (device gone, renamed away, detached by hand)
    OtherNamespace,  // its device is in a network namespace that is still there: look from there
    Unknown,         // p0fbpf's, but whether it is attached cannot be told from here: left alone
    Foreign,         // not p0fbpf's layout or not p0fbpf's objects: left alone
  };
  std::string path;
  State state = State::Foreign;
  std::string device;  // as it was named at attach
  std::uint64_t netns = 0;
  std::uint32_t ifindex = 0;
  std::uint32_t program_id = 0;
  std::uint64_t attached_unix = 0;
  std::string why;  // for Foreign and Unknown
};
const char* state_name(PinDirectory::State state);

// The pin directories under BPFFS/p0fbpf; nullopt with `error`.
std::optional<std::vector<PinDirectory>> list(const std::string& bpffs, std::string& error);

struct PruneResult {
  std::string error;
  std::vector<std::string> removed;
};
// Removes the Stale pin directories of list() (never another kind).
PruneResult prune(const std::string& bpffs);

// The classic program translated into an eBPF socket filter and pinned at
// `path` (in bpffs), replacing in one step what was pinned there if (and
// only if) it is a socket filter p0fbpf pinned; the program iptables -m bpf
// --object-pinned PATH runs. Returns an error message, empty on success.
std::string pin_socket_filter(const BpfProgram& classic, const std::string& path);

}  // namespace p0fbpf::xdp
