#include "hooks/xdp_pins.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <cstdio>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <re2/re2.h>

#include "backend/ebpf/loader.hpp"

namespace p0fbpf::xdp::pins {
namespace {

using ebpf::is_bpffs;
using ebpf::system_error;

std::optional<std::uint64_t> inode_of(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_ino;
}

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") out.push_back(name);
  }
  closedir(d);
  return out;
}

}  // namespace

std::optional<std::uint64_t> current_netns(std::string& error) {
  std::optional<std::uint64_t> inode = inode_of("/proc/self/ns/net");
  if (!inode) error = fmt::format("cannot read this process's network namespace: {}", std::strerror(errno));
  return inode;
}

bool netns_exists(std::uint64_t inode) {
  for (const char* dir : {"/run/netns", "/var/run/netns"}) {
    for (const std::string& name : entries(dir)) {
      if (inode_of(std::string(dir) + "/" + name) == inode) return true;
    }
  }
  for (const std::string& name : entries("/proc")) {
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (inode_of("/proc/" + name + "/ns/net") == inode) return true;
  }
  return false;
}

std::string directory_name(std::uint64_t netns, std::uint32_t ifindex) {
  return fmt::format("{}_{}", netns, ifindex);
}

bool parse_directory_name(const std::string& name, std::uint64_t& netns, std::uint32_t& ifindex) {
  static const RE2 pattern("([1-9][0-9]{0,19})_([1-9][0-9]{0,9})");
  std::string netns_text, ifindex_text;
  if (!RE2::FullMatch(name, pattern, &netns_text, &ifindex_text)) return false;
  try {
    netns = std::stoull(netns_text);
    unsigned long index = std::stoul(ifindex_text);
    if (index > 0xffffffffUL) return false;
    ifindex = static_cast<std::uint32_t>(index);
  } catch (const std::exception&) {
    return false;
  }
  return directory_name(netns, ifindex) == name;
}

Role map_role(int fd) {
  ebpf::MapFacts facts;
  if (!ebpf::map_facts(fd, facts) || facts.key_size != 4) return kRoles;
  if (facts.name == kCountersName && facts.type == BPF_MAP_TYPE_PERCPU_ARRAY && facts.value_size == 8) {
    return kCounters;
  }
  if (facts.name == kNamesName && facts.type == BPF_MAP_TYPE_ARRAY && facts.value_size == kNameSize) return kNames;
  if (facts.name == kInfoName && facts.type == BPF_MAP_TYPE_ARRAY && facts.value_size == sizeof(Info) &&
      facts.max_entries == 1) {
    Info info;
    if (read_info(fd, info)) return kInfo;
  }
  return kRoles;
}

bool is_our_program(int fd) {
  ebpf::ProgramFacts facts;
  if (!ebpf::program_facts(fd, facts) || facts.type != BPF_PROG_TYPE_XDP || facts.name != kProgramName) return false;
  std::optional<std::vector<std::uint32_t>> ids = ebpf::program_map_ids(fd);
  if (!ids) return false;
  bool counters = false, names = false;
  for (std::uint32_t id : *ids) {
    ebpf::Fd map(bpf_map_get_fd_by_id(id));
    if (!map) continue;
    Role role = map_role(map.get());
    counters = counters || role == kCounters;
    names = names || role == kNames;
  }
  return counters && names;
}

bool is_ours(const PinnedObject& object, Role role) {
  if (role == kProgram) return object.kind == ebpf::PinKind::Program && is_our_program(object.fd.get());
  return object.kind == ebpf::PinKind::Map && map_role(object.fd.get()) == role;
}

bool read_info(int info_fd, Info& out) {
  std::uint32_t key = 0;
  if (bpf_map_lookup_elem(info_fd, &key, &out) != 0) return false;
  return std::memcmp(out.magic, kInfoMagic, sizeof kInfoMagic) == 0 && out.device[sizeof out.device - 1] == 0 &&
         out.bpffs[sizeof out.bpffs - 1] == 0;
}

bool our_pins(const std::string& dir, PinnedObject (&out)[kRoles], std::string& error) {
  for (int r = 0; r < kRoles; ++r) {
    std::string path = dir + "/" + kRoleNames[r];
    if (!ebpf::pinned_object(path, out[r], error)) return false;
    if (out[r].kind != ebpf::PinKind::None && !is_ours(out[r], static_cast<Role>(r))) {
      error = fmt::format("{} holds {} that is not p0fbpf's {}; p0fbpf replaces and removes only its own pins\n"
                          "  help: move it away, or give p0fbpf another --bpffs",
                          path, ebpf::pin_kind_name(out[r].kind), kRoleNames[r]);
      return false;
    }
  }
  return true;
}

bool directory_is_ours(const std::string& dir, PinnedObject (&out)[kRoles], std::string& error) {
  if (!our_pins(dir, out, error)) return false;
  for (const std::string& name : entries(dir)) {
    bool role = false;
    for (const char* r : kRoleNames) role = role || name == r;
    if (!role) {
      error = fmt::format("{}/{} is not p0fbpf's: p0fbpf leaves {} and what is in it alone\n"
                          "  help: move it away, or give p0fbpf another --bpffs",
                          dir, name, dir);
      return false;
    }
  }
  return true;
}

bool swap_directory(const std::string& fresh, const std::string& dir, const PinnedObject (&present)[kRoles],
                    std::string& error) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    if (renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, dir.c_str(), RENAME_NOREPLACE) == 0) return true;
    error = errno == EEXIST ? fmt::format("{} appeared while p0fbpf was pinning: left alone", dir)
                            : fmt::format("cannot pin in {}: {}", dir, std::strerror(errno));
    return false;
  }
  if (renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
    error = fmt::format("cannot pin in {}: {}", dir, std::strerror(errno));
    return false;
  }
  // What went to the fresh name must be what was checked.
  for (int r = 0; r < kRoles; ++r) {
    PinnedObject now;
    std::string ignored;
    if (!ebpf::pinned_object(fresh + "/" + kRoleNames[r], now, ignored) || now.kind != present[r].kind ||
        now.id != present[r].id) {
      if (renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
        // The other directory stays at the fresh name: the caller must not
        // remove what is there.
        error = fmt::format("{} changed while p0fbpf was pinning, and putting it back failed ({}): it is at {} now",
                            dir, std::strerror(errno), fresh);
        return false;
      }
      error = fmt::format("{} changed while p0fbpf was pinning: left alone", dir);
      return false;
    }
  }
  return true;
}

std::string leftover_directory(const std::string& name) {
  static const RE2 pattern("([0-9]+_[0-9]+)_new_([0-9]{1,10})_[0-9a-f]{8}");  // a pid fits a long
  std::string directory, pid_text;
  if (!RE2::FullMatch(name, pattern, &directory, &pid_text)) return "";
  long pid = std::stol(pid_text);
  if (pid <= 0 || kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) return "";
  return directory;
}

bool remove_directory(const std::string& dir, std::string& error) {
  std::vector<std::string> doomed;
  for (const std::string& name : entries(dir)) {
    Role role = kRoles;
    for (int r = 0; r < kRoles; ++r) {
      if (name == kRoleNames[r]) role = static_cast<Role>(r);
    }
    std::string path = dir + "/" + name;
    PinnedObject object;
    if (role == kRoles || !ebpf::pinned_object(path, object, error) || !is_ours(object, role)) {
      if (error.empty()) {
        error = fmt::format("{} is not p0fbpf's: p0fbpf leaves {} and what is in it alone", path, dir);
      }
      return false;
    }
    doomed.push_back(path);
  }
  for (const std::string& path : doomed) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      error = fmt::format("cannot remove {}: {}", path, std::strerror(errno));
      return false;
    }
  }
  if (rmdir(dir.c_str()) != 0 && errno != ENOENT) {
    error = fmt::format("cannot remove {}: {}", dir, std::strerror(errno));
    return false;
  }
  return true;
}

bool remove_pins(const std::string& dir, std::vector<std::string>& removed, std::string& error) {
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) return true;
  if (!remove_directory(dir, error)) return false;
  removed.push_back(dir);
  std::string top = dir.substr(0, dir.rfind('/'));
  rmdir(top.c_str());  // only if empty
  return true;
}

std::string bpffs_root(const std::string& bpffs, bool make, std::string& error, bool* mounted) {
  if (make && bpffs == kSystemBpffs && !is_bpffs(bpffs)) {
    if (mount("bpf", bpffs.c_str(), "bpf", 0, "mode=0700") != 0) {
      error = system_error("cannot mount a BPF file system at " + bpffs, errno);
      return "";
    }
    if (mounted) *mounted = true;
  }
  char resolved[PATH_MAX];
  if (!is_bpffs(bpffs) || !realpath(bpffs.c_str(), resolved)) {
    error = fmt::format("{} is not a BPF file system\n  help: mount -t bpf bpf {}", bpffs, bpffs);
    return "";
  }
  return resolved;
}

}  // namespace p0fbpf::xdp::pins
