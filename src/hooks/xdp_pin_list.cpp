// p0fbpf's XDP pin directories as they stand (xdp list), and the removal of
// those proven stale (xdp prune).
#include <bpf/libbpf.h>
#include <dirent.h>
#include <net/if.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hooks/xdp_pins.hpp"
#include "p0fbpf/xdp.hpp"

namespace p0fbpf::xdp {

using ebpf::system_error;
using namespace pins;

const char* state_name(PinDirectory::State state) {
  switch (state) {
    case PinDirectory::State::Attached: return "attached";
    case PinDirectory::State::Stale: return "stale";
    case PinDirectory::State::OtherNamespace: return "other-namespace";
    case PinDirectory::State::Unknown: return "unknown";
    case PinDirectory::State::Foreign: break;
  }
  return "foreign";
}

namespace {

// Whether `program_id` is attached to device `ifindex` of this network
// namespace, in any mode. Stale only when that is proven: the device is
// gone, or the kernel names no program of that id on it; Unknown (with
// `why`) when the kernel does not say.
PinDirectory::State state_here(std::uint32_t ifindex, std::uint32_t program_id, std::string& why) {
  char name[IF_NAMESIZE];
  if (!if_indextoname(ifindex, name)) {
    if (errno == ENXIO || errno == ENODEV) return PinDirectory::State::Stale;
    why = system_error(fmt::format("cannot look up device index {}", ifindex), errno);
    return PinDirectory::State::Unknown;
  }
  bpf_xdp_query_opts query{};
  query.sz = sizeof query;
  if (int err = bpf_xdp_query(static_cast<int>(ifindex), 0, &query); err != 0) {
    why = system_error("cannot ask the kernel for the device's XDP programs", -err);
    return PinDirectory::State::Unknown;
  }
  for (std::uint32_t id : {query.prog_id, query.drv_prog_id, query.skb_prog_id, query.hw_prog_id}) {
    if (id != 0 && id == program_id) return PinDirectory::State::Attached;
  }
  return PinDirectory::State::Stale;
}

}  // namespace

std::optional<std::vector<PinDirectory>> list(const std::string& bpffs, std::string& error) {
  std::string root = bpffs_root(bpffs, false, error);
  if (root.empty()) return std::nullopt;
  std::optional<std::uint64_t> netns = current_netns(error);
  if (!netns) return std::nullopt;
  std::vector<PinDirectory> out;
  std::string top = root + "/p0fbpf";
  struct stat st {};
  if (lstat(top.c_str(), &st) != 0) return out;
  if (!S_ISDIR(st.st_mode)) {
    error = top + " is not a directory: not p0fbpf's";
    return std::nullopt;
  }
  std::vector<std::string> names;
  if (DIR* d = opendir(top.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(d);
  } else {
    error = system_error("cannot read " + top, errno);
    return std::nullopt;
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    PinDirectory entry;
    entry.path = top + "/" + name;
    std::string leftover = leftover_directory(name);
    if (!parse_directory_name(leftover.empty() ? name : leftover, entry.netns, entry.ifindex)) {
      entry.why = "not a p0fbpf pin directory name (NETNS_IFINDEX)";
      // An older p0fbpf's pins, by device name: attached if the device of
      // that name here has the program, else stale.
      PinnedObject legacy[kRoles];
      std::string ignored;
      if (directory_is_ours(entry.path, legacy, ignored) && legacy[kProgram].kind == ebpf::PinKind::Program &&
          legacy[kInfo].kind == ebpf::PinKind::None) {
        entry.device = name;
        entry.program_id = legacy[kProgram].id;
        entry.why = "an older p0fbpf's pins (BPFFS/p0fbpf/DEVICE)";
        // A name may be another namespace's device too: only attached here
        // tells anything.
        unsigned index = name.size() < IFNAMSIZ ? if_nametoindex(name.c_str()) : 0;
        entry.ifindex = index;
        std::string why;
        entry.state = index && state_here(index, entry.program_id, why) == PinDirectory::State::Attached
                          ? PinDirectory::State::Attached
                          : PinDirectory::State::Unknown;
        if (entry.state == PinDirectory::State::Unknown) {
          entry.why += "; not attached to a device of that name here (remove it by hand once it is nowhere)";
        }
      }
      out.push_back(entry);
      continue;
    }
    PinnedObject pins[kRoles];
    std::string problem;
    if (!directory_is_ours(entry.path, pins, problem)) {
      entry.why = problem.substr(0, problem.find('\n'));
      out.push_back(entry);
      continue;
    }
    Info info{};
    if (pins[kInfo].kind != ebpf::PinKind::None && read_info(pins[kInfo].fd.get(), info)) {
      if (info.netns != entry.netns || info.ifindex != entry.ifindex) {
        entry.why = "its info names another device";
        out.push_back(entry);
        continue;
      }
      entry.device = info.device;
      entry.attached_unix = info.attached_unix;
    }
    entry.program_id = pins[kProgram].id;
    if (!leftover.empty()) {
      entry.state = PinDirectory::State::Stale;
      entry.why = "left by an interrupted attach";
    } else if (entry.netns == *netns) {
      entry.state = state_here(entry.ifindex, entry.program_id, entry.why);
    } else {
      entry.state = netns_exists(entry.netns) ? PinDirectory::State::OtherNamespace : PinDirectory::State::Stale;
    }
    out.push_back(entry);
  }
  return out;
}

PruneResult prune(const std::string& bpffs) {
  PruneResult result;
  std::optional<std::vector<PinDirectory>> dirs = list(bpffs, result.error);
  if (!dirs) return result;
  for (const PinDirectory& d : *dirs) {
    if (d.state != PinDirectory::State::Stale) continue;
    if (!remove_pins(d.path, result.removed, result.error)) return result;
  }
  return result;
}

}  // namespace p0fbpf::xdp
