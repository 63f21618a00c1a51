// XDP programs on devices: the eBPF translation loaded with libbpf, its
// maps created here, pinned as xdp_pins.hpp lays out, everything found
// again through the device.
#include "p0fbpf/xdp.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "hooks/fd.hpp"
#include "backend/ebpf/loader.hpp"
#include "hooks/pins.hpp"
#include "hooks/selection_hash.hpp"
#include "backend/ebpf/translate.hpp"
#include "hooks/xdp_pins.hpp"

namespace p0fbpf::xdp {
namespace {

using ebpf::Fd;
using namespace pins;

constexpr int kArphrdIp6Gre = 823;  // ARPHRD_IP6GRE, which <net/if_arp.h> lacks
// What slot 0 of the names map says the program does with a match.
constexpr const char* kDrops = "drop";
constexpr const char* kCountsOnly = "count-only";
constexpr const char* kSynsName = "SYNs seen";

using ebpf::is_bpffs;
using ebpf::system_error;

// What the kernel says of the program attached to a device.
struct Attached {
  std::uint32_t id = 0;
  Mode mode = Mode::Auto;
  Fd program;
  std::string name;
  Fd counters, names, info;  // p0fbpf's maps, when it is p0fbpf's program (info: since info maps exist)
  bool ours() const { return name == kProgramName && counters && names; }
};

std::uint32_t mode_flag(Mode mode) { return mode == Mode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE; }

// The program on the device (id 0: none), with its maps if it is ours.
std::optional<Attached> attached_program(int ifindex, std::string& error) {
  bpf_xdp_query_opts query{};
  query.sz = sizeof query;
  if (int err = bpf_xdp_query(ifindex, 0, &query); err != 0) {
    error = system_error("cannot ask the kernel for the device's XDP program", -err);
    return std::nullopt;
  }
  Attached out;
  if (query.attach_mode == XDP_ATTACHED_NONE) return out;
  if (query.attach_mode == XDP_ATTACHED_MULTI || query.attach_mode == XDP_ATTACHED_HW) {
    error = "the device has XDP programs in several modes, or offloaded to hardware; p0fbpf leaves it alone";
    return std::nullopt;
  }
  out.mode = query.attach_mode == XDP_ATTACHED_DRV ? Mode::Native : Mode::Generic;
  out.id = query.prog_id;
  out.program = Fd(bpf_prog_get_fd_by_id(out.id));
  ebpf::ProgramFacts facts;
  if (!out.program || !ebpf::program_facts(out.program.get(), facts)) {
    error = system_error(fmt::format("cannot read XDP program {}", out.id), errno);
    return std::nullopt;
  }
  if (facts.type != BPF_PROG_TYPE_XDP) return out;  // never ours
  out.name = facts.name;
  std::optional<std::vector<std::uint32_t>> map_ids = ebpf::program_map_ids(out.program.get());
  if (!map_ids) {
    error = system_error(fmt::format("cannot read XDP program {}", out.id), errno);
    return std::nullopt;
  }
  for (std::uint32_t id : *map_ids) {
    Fd map(bpf_map_get_fd_by_id(id));
    if (!map) continue;
    switch (map_role(map.get())) {
      case kCounters: out.counters = std::move(map); break;
      case kNames: out.names = std::move(map); break;
      case kInfo: out.info = std::move(map); break;
      default: break;
    }
  }
  return out;
}

int interface_index(const std::string& device, std::string& error) {
  if (device.empty() || device.size() >= IFNAMSIZ || device.find('/') != std::string::npos) {
    error = "not a device name";
    return 0;
  }
  unsigned index = if_nametoindex(device.c_str());
  if (index == 0) error = system_error("no device " + device, errno);
  return static_cast<int>(index);
}

// Each slot's per-CPU values.
std::optional<std::vector<std::vector<std::uint64_t>>> per_cpu_counters(int map_fd) {
  ebpf::MapFacts facts;
  int cpus = libbpf_num_possible_cpus();
  if (!ebpf::map_facts(map_fd, facts) || cpus <= 0) return std::nullopt;
  std::vector<std::vector<std::uint64_t>> out(facts.max_entries,
                                              std::vector<std::uint64_t>(static_cast<std::size_t>(cpus)));
  for (std::uint32_t key = 0; key < facts.max_entries; ++key) {
    if (bpf_map_lookup_elem(map_fd, &key, out[key].data()) != 0) return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::string>> slot_names(int names_fd, std::uint32_t slots) {
  std::vector<std::string> out;
  std::vector<char> value(kNameSize);
  for (std::uint32_t slot = 0; slot < slots; ++slot) {
    if (bpf_map_lookup_elem(names_fd, &slot, value.data()) != 0) return std::nullopt;
    out.emplace_back(value.data(), strnlen(value.data(), value.size()));
  }
  return out;
}

// The old program's counts, carried into the new counters: slot 0 (frames
// seen) and the SYNs slot as they are, signatures by name. How many
// signatures were carried.
std::size_t carry_counters(const Attached& old, std::uint32_t old_syn_slot, int counters_fd,
                           const std::vector<std::string>& new_names, std::uint32_t new_syn_slot) {
  std::optional<std::vector<std::vector<std::uint64_t>>> counts = per_cpu_counters(old.counters.get());
  if (!counts) return 0;
  auto slots = static_cast<std::uint32_t>(counts->size());
  std::optional<std::vector<std::string>> names = slot_names(old.names.get(), slots);
  if (!names) return 0;
  std::uint32_t signatures_end = old_syn_slot ? old_syn_slot : slots;
  std::map<std::string, std::uint32_t> by_name;
  for (std::uint32_t slot = 1; slot < signatures_end; ++slot) by_name.emplace((*names)[slot], slot);
  std::size_t carried = 0;
  auto put = [&](std::uint32_t to, std::uint32_t from) {
    return bpf_map_update_elem(counters_fd, &to, (*counts)[from].data(), BPF_ANY) == 0;
  };
  put(0, 0);
  if (old_syn_slot && new_syn_slot && old_syn_slot < slots) put(new_syn_slot, old_syn_slot);
  for (std::uint32_t slot = 1; slot < new_names.size(); ++slot) {
    if (slot == new_syn_slot) continue;
    auto found = by_name.find(new_names[slot]);
    if (found != by_name.end() && put(slot, found->second)) ++carried;
  }
  return carried;
}

void copy_string(char* to, std::size_t size, const std::string& from) {
  std::memset(to, 0, size);
  std::memcpy(to, from.data(), std::min(from.size(), size - 1));
}

// Where the program's attach put its pins, if it says (info map), and the
// directory exists in this process's view.
struct PinPlace {
  std::string dir;       // empty: unknown
  bool visible = false;  // its BPF file system is mounted here
};

PinPlace pins_of(const Info& info) {
  PinPlace place;
  if (!info.bpffs[0]) return place;
  std::string bpffs = info.bpffs;
  place.dir = bpffs + "/p0fbpf/" + directory_name(info.netns, info.ifindex);
  place.visible = is_bpffs(bpffs);
  return place;
}

}  // namespace

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::Native: return "native";
    case Mode::Generic: return "generic";
    case Mode::Auto: break;
  }
  return "auto";
}

std::optional<LinkType> device_link(const std::string& device, std::string& error) {
  if (interface_index(device, error) == 0) return std::nullopt;
  Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq request{};
  std::memcpy(request.ifr_name, device.c_str(), device.size());
  if (!sock || ioctl(sock.get(), SIOCGIFHWADDR, &request) != 0) {
    error = system_error("cannot read the link type of " + device, errno);
    return std::nullopt;
  }
  switch (request.ifr_hwaddr.sa_family) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK: return LinkType::Ethernet;
    case ARPHRD_NONE: return LinkType::Raw;  // tun, WireGuard
  }
  // IP tunnels: what XDP sees on them was never tried (the kernel p0fbpf
  // is tested on has no tunnel drivers), so they are refused.
  const char* tunnel = nullptr;
  switch (request.ifr_hwaddr.sa_family) {
    case ARPHRD_TUNNEL: tunnel = "ipip"; break;
    case ARPHRD_TUNNEL6: tunnel = "ip6tnl"; break;
    case ARPHRD_SIT: tunnel = "sit"; break;
    case ARPHRD_IPGRE: tunnel = "gre"; break;
    case kArphrdIp6Gre: tunnel = "ip6gre"; break;
  }
  if (tunnel) {
    error = fmt::format("{} is an IP tunnel ({}): p0fbpf xdp does not attach to tunnels\n"
                        "  help: filter the tunnel's packets with a tc script (-f tc) or iptables (-f script) "
                        "on {}",
                        device, tunnel, device);
    return std::nullopt;
  }
  error = fmt::format("{} has link type {} (ARPHRD), neither Ethernet nor a bare IP device",
                      device, request.ifr_hwaddr.sa_family);
  return std::nullopt;
}

AttachResult attach(const AttachRequest& request, const BpfProgram& classic) {
  AttachResult result;
  std::string& error = result.error;
  int ifindex = interface_index(request.device, error);
  if (!ifindex) return result;
  std::optional<std::uint64_t> netns = current_netns(error);
  if (!netns) return result;
  std::optional<Attached> old = attached_program(ifindex, error);
  if (!old) return result;
  if (old->id && !old->ours()) {
    error = fmt::format("{} already has an XDP program that is not p0fbpf's (id {}, name '{}'); p0fbpf replaces "
                        "only its own",
                        request.device, old->id, old->name);
    return result;
  }
  if (old->id && request.mode != Mode::Auto && request.mode != old->mode) {
    error = fmt::format("p0fbpf's program on {} runs in {} mode; a program in {} mode cannot replace it in one "
                        "step: detach it first",
                        request.device, mode_name(old->mode), mode_name(request.mode));
    return result;
  }
  Info old_info{};
  bool has_old_info = old->id && old->info && read_info(old->info.get(), old_info);
  std::string root = bpffs_root(request.bpffs, true, error, &result.mounted_bpffs);
  if (root.empty()) return result;
  std::string top = root + "/p0fbpf";
  std::string dir = top + "/" + directory_name(*netns, static_cast<std::uint32_t>(ifindex));
  std::uint64_t selection =
      ebpf::selection_hash(classic, request.slot_names, request.count_only, request.not_syn_verdict);

  PinnedObject present[kRoles];
  if (!directory_is_ours(dir, present, error)) return result;
  if (has_old_info && old_info.selection == selection && old_info.netns == *netns &&
      old_info.ifindex == static_cast<std::uint32_t>(ifindex) && root == old_info.bpffs &&
      present[kProgram].id == old->id) {
    result.unchanged = true;
    result.program_id = old->id;
    result.mode = old->mode;
    result.pin_directory = dir;
    return result;
  }

  // DIR itself comes whole, swapped in at the end.
  if (mkdir(top.c_str(), 0700) != 0 && errno != EEXIST) {
    error = system_error("cannot make " + top, errno);
    return result;
  }
  // On failure the directories go again, if this made them (rmdir leaves
  // a directory with pins in it).
  struct RemoveIfEmpty {
    std::string dir, top;
    bool keep = false;
    ~RemoveIfEmpty() {
      if (keep) return;
      rmdir(dir.c_str());
      rmdir(top.c_str());
    }
  } directories{dir, top};

  // The maps: counters per slot and CPU (signatures, then SYNs seen); the
  // slots' names and the info, frozen.
  auto slots = static_cast<std::uint32_t>(request.slot_names.size() + 1);
  std::uint32_t syn_slot = request.not_syn_verdict ? slots : 0;
  std::uint32_t entries = slots + (syn_slot ? 1 : 0);
  Fd counters(ebpf::create_counter_map(entries, kCountersName));
  Fd names(bpf_map_create(BPF_MAP_TYPE_ARRAY, kNamesName, 4, kNameSize, entries, nullptr));
  Fd info(bpf_map_create(BPF_MAP_TYPE_ARRAY, kInfoName, 4, sizeof(Info), 1, nullptr));
  if (!counters || !names || !info) {
    error = system_error("cannot create the program's maps", errno);
    return result;
  }
  std::vector<std::string> all_names;
  for (std::uint32_t slot = 0; slot < entries; ++slot) {
    all_names.push_back(slot == 0           ? (request.count_only ? kCountsOnly : kDrops)
                        : slot == syn_slot ? kSynsName
                                           : request.slot_names[slot - 1]);
    std::vector<char> value(kNameSize, 0);
    std::memcpy(value.data(), all_names.back().data(), std::min<std::size_t>(all_names.back().size(), kNameSize - 1));
    if (bpf_map_update_elem(names.get(), &slot, value.data(), BPF_ANY) != 0) {
      error = system_error("cannot fill the names map", errno);
      return result;
    }
  }
  Info new_info{};
  std::memcpy(new_info.magic, kInfoMagic, sizeof kInfoMagic);
  new_info.netns = *netns;
  new_info.ifindex = static_cast<std::uint32_t>(ifindex);
  new_info.syn_slot = syn_slot;
  new_info.selection = selection;
  new_info.attached_unix = has_old_info ? old_info.attached_unix : static_cast<std::uint64_t>(std::time(nullptr));
  copy_string(new_info.device, sizeof new_info.device, request.device);
  copy_string(new_info.bpffs, sizeof new_info.bpffs, root);
  std::uint32_t zero = 0;
  if (root.size() >= sizeof new_info.bpffs) {
    error = fmt::format("{}: the path of the BPF file system is too long (at most {} bytes)", root,
                        sizeof new_info.bpffs - 1);
    return result;
  }
  if (bpf_map_update_elem(info.get(), &zero, &new_info, BPF_ANY) != 0 || bpf_map_freeze(info.get()) != 0 ||
      bpf_map_freeze(names.get()) != 0) {
    error = system_error("cannot fill the program's maps", errno);
    return result;
  }
  if (old->id) {
    result.kept_counters =
        carry_counters(*old, has_old_info ? old_info.syn_slot : 0, counters.get(), all_names, syn_slot);
  }
  ebpf::Program program;
  try {
    program = ebpf::translate(classic, ebpf::Target::Xdp,
                              ebpf::XdpCounters{counters.get(), slots, request.count_only, request.not_syn_verdict});
  } catch (const std::exception& e) {
    error = std::string("cannot translate the program: ") + e.what();
    return result;
  }
  ebpf::LoadResult loaded = ebpf::load(program, {kProgramName, false});
  if (!loaded.program) {
    error = "the kernel refuses the program: " + loaded.error;
    return result;
  }
  int fd = loaded.program->fd();
  // The program never reads the names and the info; bound to it, they are
  // found with it.
  if (bpf_prog_bind_map(fd, names.get(), nullptr) != 0 || bpf_prog_bind_map(fd, info.get(), nullptr) != 0) {
    error = system_error("cannot bind the names and info maps to the program", errno);
    return result;
  }

  // The pins go into a directory of their own, swapped with the old one in
  // one step once the program is attached: at every moment, the pins in
  // place are one attach's whole set.
  std::string fresh = ebpf::fresh_directory(dir, error);
  if (fresh.empty()) return result;
  struct RemoveFresh {
    std::string path;
    ~RemoveFresh() {
      if (path.empty()) return;
      for (const char* role : kRoleNames) unlink((path + "/" + role).c_str());
      rmdir(path.c_str());
    }
  } fresh_pins{fresh};
  const int fds[kRoles] = {fd, counters.get(), names.get(), info.get()};
  for (int r = 0; r < kRoles; ++r) {
    std::string path = fresh + "/" + kRoleNames[r];
    if (bpf_obj_pin(fds[r], path.c_str()) != 0) {
      error = system_error("cannot pin " + path, errno);
      return result;
    }
  }

  bpf_xdp_attach_opts opts{};
  opts.sz = sizeof opts;
  auto try_mode = [&](Mode mode) {
    std::uint32_t flags = mode_flag(mode);
    if (old->id) {
      flags |= XDP_FLAGS_REPLACE;
      opts.old_prog_fd = old->program.get();
    } else {
      flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
    }
    return bpf_xdp_attach(ifindex, fd, flags, &opts);
  };
  Mode mode = old->id ? old->mode : request.mode == Mode::Auto ? Mode::Native : request.mode;
  int err = try_mode(mode);
  if (err != 0 && !old->id && request.mode == Mode::Auto) {
    mode = Mode::Generic;
    err = try_mode(mode);
  }
  if (err != 0) {
    error = system_error(fmt::format("cannot attach the program to {} in {} mode", request.device, mode_name(mode)),
                         -err);
    return result;
  }
  // Attached: the pins follow. Should that fail, the device goes back.
  if (!swap_directory(fresh, dir, present, error)) {
    // Should the exchange have failed halfway, the fresh name holds what
    // was at `dir`: it is not ours to remove.
    ebpf::ProgramFacts mine;
    ebpf::PinnedObject there;
    std::string ignored;
    if (!ebpf::program_facts(fd, mine) || !ebpf::pinned_object(fresh + "/" + kRoleNames[kProgram], there, ignored) ||
        there.id != mine.id) {
      fresh_pins.path.clear();
    }
    bpf_xdp_attach_opts undo{};
    undo.sz = sizeof undo;
    undo.old_prog_fd = fd;
    int undone = old->id ? bpf_xdp_attach(ifindex, old->program.get(), mode_flag(mode) | XDP_FLAGS_REPLACE, &undo)
                         : bpf_xdp_detach(ifindex, mode_flag(mode) | XDP_FLAGS_REPLACE, &undo);
    if (undone != 0) {
      error += fmt::format("\nand putting {}'s XDP program back failed ({}): p0fbpf's new program runs there "
                           "without its pins; run p0fbpf xdp detach {}",
                           request.device, std::strerror(-undone), request.device);
    }
    return result;
  }
  // The fresh name holds the old pins now, if there were any.
  std::string ignored;
  if (remove_directory(fresh, ignored)) fresh_pins.path.clear();
  ebpf::ProgramFacts facts;
  if (ebpf::program_facts(fd, facts)) result.program_id = facts.id;
  result.mode = mode;
  result.replaced_id = old->id;
  result.pin_directory = dir;
  directories.keep = true;
  // An older p0fbpf's pins of the replaced program (BPFFS/p0fbpf/DEVICE)
  // would be stale now.
  if (old->id && !has_old_info) {
    PinnedObject legacy[kRoles];
    std::string legacy_dir = top + "/" + request.device;
    std::vector<std::string> removed;
    if (directory_is_ours(legacy_dir, legacy, ignored) && legacy[kProgram].id == old->id &&
        remove_pins(legacy_dir, removed, ignored)) {
      result.note = "removed the replaced program's pins in " + legacy_dir;
    }
  }
  // The old program's pins elsewhere (another --bpffs) would be stale now.
  if (has_old_info) {
    PinPlace place = pins_of(old_info);
    if (!place.dir.empty() && place.dir != dir && place.visible) {
      std::vector<std::string> removed;
      std::string problem;
      if (!remove_pins(place.dir, removed, problem)) {
        result.note = "the pins of the replaced program stay: " + problem;
      } else if (!removed.empty()) {
        result.note = "removed the replaced program's pins in " + place.dir;
      }
    }
  }
  return result;
}

std::optional<Stats> stats(const std::string& device, std::string& error) {
  int ifindex = interface_index(device, error);
  if (!ifindex) return std::nullopt;
  std::optional<Attached> found = attached_program(ifindex, error);
  if (!found) return std::nullopt;
  if (!found->id) {
    error = fmt::format("{} has no XDP program", device);
    return std::nullopt;
  }
  if (!found->ours()) {
    error = fmt::format("the XDP program on {} is not p0fbpf's (id {}, name '{}')", device, found->id, found->name);
    return std::nullopt;
  }
  std::optional<std::vector<std::uint64_t>> counts = ebpf::summed_counters(found->counters.get());
  if (!counts) {
    error = system_error("cannot read the counters", errno);
    return std::nullopt;
  }
  Info info{};
  bool has_info = found->info && read_info(found->info.get(), info);
  std::uint32_t syn_slot = has_info && info.syn_slot < counts->size() ? info.syn_slot : 0;
  std::optional<std::vector<std::string>> names =
      slot_names(found->names.get(), static_cast<std::uint32_t>(counts->size()));
  if (!names) {
    error = system_error("cannot read the signatures' names", errno);
    return std::nullopt;
  }
  Stats out;
  out.program_id = found->id;
  out.mode = found->mode;
  out.attached_unix = has_info ? info.attached_unix : 0;
  for (std::uint32_t slot = 0; slot < counts->size(); ++slot) {
    std::uint64_t count = (*counts)[slot];
    if (slot == 0) {
      out.seen = count;
      out.count_only = (*names)[0] == kCountsOnly;
    } else if (slot == syn_slot) {
      out.syns = count;
    } else {
      out.matches.push_back({(*names)[slot], count});
    }
  }
  return out;
}

DetachResult detach(const std::string& device, const std::string& bpffs) {
  DetachResult result;
  std::string& error = result.error;
  std::optional<std::uint64_t> netns = current_netns(error);
  if (!netns) return result;
  std::string lookup_error;
  int ifindex = interface_index(device, lookup_error);
  if (!ifindex) {
    if (lookup_error == "not a device name") {
      error = lookup_error;
      return result;
    }
    // Gone (or renamed away): its stale pins, found by the name it had.
    std::string ignored;
    std::optional<std::vector<PinDirectory>> dirs = list(bpffs, ignored);
    if (dirs) {
      for (const PinDirectory& d : *dirs) {
        if (d.state == PinDirectory::State::Stale && d.device == device && d.netns == *netns) {
          if (!remove_pins(d.path, result.removed, error)) return result;
        }
      }
    }
    if (result.removed.empty()) error = lookup_error;
    return result;
  }
  std::optional<Attached> found = attached_program(ifindex, error);
  if (!found) return result;
  if (found->id && !found->ours()) {
    error = fmt::format("the XDP program on {} is not p0fbpf's (id {}, name '{}'); p0fbpf detaches only its own",
                        device, found->id, found->name);
    return result;
  }
  // Where the pins are: where the program's attach put them, else --bpffs.
  std::string dir;
  Info info{};
  if (found->id && found->info && read_info(found->info.get(), info)) {
    PinPlace place = pins_of(info);
    if (!place.visible && std::string(info.bpffs) != kSystemBpffs) {
      error = fmt::format(
          "the pins of p0fbpf's program {} on {} are in {}, which is not a BPF file system here; nothing was "
          "detached\n  help: run the detach where {} is mounted",
          found->id, device, info.bpffs, info.bpffs);
      return result;
    }
    if (place.visible) dir = place.dir;
    else result.pins_left = place.dir.empty() ? std::string(info.bpffs) : place.dir;
  } else {
    std::string ignored;
    std::string root = bpffs_root(bpffs, false, ignored);
    if (!root.empty()) dir = root + "/p0fbpf/" + directory_name(*netns, static_cast<std::uint32_t>(ifindex));
  }
  // Checked before anything changes: the pins there are p0fbpf's.
  if (!dir.empty()) {
    PinnedObject present[kRoles];
    if (!directory_is_ours(dir, present, error)) return result;
  }
  if (found->id) {
    bpf_xdp_attach_opts opts{};
    opts.sz = sizeof opts;
    opts.old_prog_fd = found->program.get();
    if (int err = bpf_xdp_detach(ifindex, mode_flag(found->mode) | XDP_FLAGS_REPLACE, &opts); err != 0) {
      error = system_error("cannot detach the program from " + device, -err);
      return result;
    }
    result.program_id = found->id;
  }
  if (!dir.empty() && !remove_pins(dir, result.removed, error)) {
    error = fmt::format("detached program {}, but {}", found->id, error);
    return result;
  }
  // An older p0fbpf pinned by name (BPFFS/p0fbpf/DEVICE): those pins go if
  // they are this program's.
  if (found->id && !found->info) {
    std::string ignored;
    std::string root = bpffs_root(bpffs, false, ignored);
    PinnedObject legacy[kRoles];
    std::string legacy_dir = root + "/p0fbpf/" + device;
    if (!root.empty() && directory_is_ours(legacy_dir, legacy, ignored) && legacy[kProgram].id == found->id &&
        !remove_pins(legacy_dir, result.removed, error)) {
      error = fmt::format("detached program {}, but {}", found->id, error);
    }
  }
  return result;
}

}  // namespace p0fbpf::xdp
