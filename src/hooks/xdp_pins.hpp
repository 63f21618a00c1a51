// The layout of p0fbpf's XDP pins and how they are told from anyone else's.
//
//   BPFFS/p0fbpf/NETNS_IFINDEX/{program,counters,names,info}
//
// NETNS is the inode of the device's network namespace, IFINDEX its
// index there: a device keeps both when renamed, and two devices of one
// name in two namespaces differ. The info map (one frozen entry) says
// which device it was (name at attach, namespace, index), where the pins
// went, when it was attached, and a digest of the selection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hooks/pins.hpp"

namespace p0fbpf::xdp::pins {

using ebpf::PinnedObject;

inline constexpr const char* kProgramName = "p0fbpf";
inline constexpr const char* kCountersName = "p0fbpf_counts";
inline constexpr const char* kNamesName = "p0fbpf_names";
inline constexpr const char* kInfoName = "p0fbpf_info";
inline constexpr std::uint32_t kNameSize = 256;
inline constexpr char kInfoMagic[16] = "p0fbpf-xdp-1";

struct Info {
  char magic[16];
  std::uint64_t netns;
  std::uint64_t attached_unix;  // the first attach of p0fbpf on the device, in seconds
  std::uint64_t selection;      // selection_hash()
  std::uint32_t ifindex;
  std::uint32_t syn_slot;  // the counter of SYNs seen; 0: none (no SYN gate)
  char device[16];
  char bpffs[256];  // the BPF file system the pins went in, resolved
};

// The pins of a directory, in this order.
enum Role { kProgram, kCounters, kNames, kInfo, kRoles };
inline constexpr const char* kRoleNames[kRoles] = {"program", "counters", "names", "info"};

// The inode of this process's network namespace; nullopt with `error`.
std::optional<std::uint64_t> current_netns(std::string& error);
// Whether a network namespace with this inode is still there (some
// process lives in it, or ip netns holds it).
bool netns_exists(std::uint64_t inode);

std::string directory_name(std::uint64_t netns, std::uint32_t ifindex);
bool parse_directory_name(const std::string& name, std::uint64_t& netns, std::uint32_t& ifindex);

// p0fbpf's XDP program: an XDP program named p0fbpf that uses p0fbpf's
// counters and names maps.
bool is_our_program(int fd);
// Which of p0fbpf's maps `fd` is (kCounters, kNames, kInfo), by name, type
// and shape; kRoles if none.
Role map_role(int fd);
// The object at the pin matches `role`.
bool is_ours(const PinnedObject& object, Role role);
bool read_info(int info_fd, Info& out);

// What is pinned in `dir`: each role's object (kind None if absent).
// Fails, naming it, if a pin holds anything that is not p0fbpf's.
bool our_pins(const std::string& dir, PinnedObject (&out)[kRoles], std::string& error);

// our_pins(), and nothing else in `dir`.
bool directory_is_ours(const std::string& dir, PinnedObject (&out)[kRoles], std::string& error);

// Puts the directory `fresh` at `dir` in one step: exchanged with `dir` if
// that exists (it must still hold the objects of `present`, or the two go
// back), else moved there if `dir` is still missing. On failure both are
// as they were.
bool swap_directory(const std::string& fresh, const std::string& dir, const PinnedObject (&present)[kRoles],
                    std::string& error);

// A temporary pin directory of an attach (NETNS_IFINDEX_new_PID_RANDOM)
// whose process is gone: the directory name it was for, or empty.
std::string leftover_directory(const std::string& name);

// Removes the pins of `dir` and `dir` itself, refusing (with `error`, and
// removing nothing) if it holds anything that is not p0fbpf's.
bool remove_directory(const std::string& dir, std::string& error);

// remove_directory() if `dir` is there, adding it to `removed`; then its
// parent (BPFFS/p0fbpf) if that is left empty.
bool remove_pins(const std::string& dir, std::vector<std::string>& removed, std::string& error);

// Where systemd mounts the BPF file system at boot.
inline constexpr const char* kSystemBpffs = "/sys/fs/bpf";

// BPFFS resolved (symlinks, trailing '/'); empty with `error` if it is not
// a bpffs. The system's place for one, kSystemBpffs, gets one mounted when
// `make` finds it without (as systemd mounts it at boot), and says so in
// `mounted`.
std::string bpffs_root(const std::string& bpffs, bool make, std::string& error, bool* mounted = nullptr);

}  // namespace p0fbpf::xdp::pins
