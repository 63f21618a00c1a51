// XDP programs on devices and pinned socket filters: the eBPF translation
// loaded with libbpf, its maps created here, everything found again through
// the device or the pin.
#include "p0fbpf/xdp.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "loader.hpp"
#include "translate.hpp"

namespace p0fbpf::xdp {
namespace {

constexpr const char* kProgramName = "p0fbpf";
constexpr const char* kCountersName = "p0fbpf_counts";
constexpr const char* kNamesName = "p0fbpf_names";
constexpr std::uint32_t kNameSize = 256;
constexpr long kBpffsMagic = 0xcafe4a11;  // BPF_FS_MAGIC
constexpr const char* kSystemBpffs = "/sys/fs/bpf";
// What slot 0 of the names map says the program does with a match.
constexpr const char* kDrops = "drop";
constexpr const char* kCountsOnly = "count-only";

std::string system_error(const std::string& what, int error) {
  return fmt::format("{}: {}", what, std::strerror(error));
}

// A descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  void reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_ = -1;
};

// What the kernel says of the program attached to a device.
struct Attached {
  std::uint32_t id = 0;
  Mode mode = Mode::Auto;
  Fd program;
  std::string name;
  Fd counters, names;  // p0fbpf's maps, when it is p0fbpf's program
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
  if (!out.program) {
    error = system_error(fmt::format("cannot open XDP program {}", out.id), errno);
    return std::nullopt;
  }
  bpf_prog_info info{};
  std::uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(out.program.get(), &info, &length) != 0) {
    error = system_error(fmt::format("cannot read XDP program {}", out.id), errno);
    return std::nullopt;
  }
  out.name = std::string(info.name, strnlen(info.name, sizeof info.name));
  std::optional<std::vector<std::uint32_t>> map_ids = ebpf::program_map_ids(out.program.get());
  if (!map_ids) {
    error = system_error(fmt::format("cannot read XDP program {}", out.id), errno);
    return std::nullopt;
  }
  for (std::uint32_t id : *map_ids) {
    Fd map(bpf_map_get_fd_by_id(id));
    bpf_map_info map_info{};
    length = sizeof map_info;
    if (!map || bpf_obj_get_info_by_fd(map.get(), &map_info, &length) != 0) continue;
    std::string name(map_info.name, strnlen(map_info.name, sizeof map_info.name));
    if (name == kCountersName && map_info.type == BPF_MAP_TYPE_PERCPU_ARRAY && map_info.value_size == 8) {
      out.counters = std::move(map);
    } else if (name == kNamesName && map_info.type == BPF_MAP_TYPE_ARRAY && map_info.value_size == kNameSize) {
      out.names = std::move(map);
    }
  }
  return out;
}

bool is_bpffs(const std::string& path) {
  struct statfs fs {};
  return statfs(path.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kBpffsMagic;
}

// BPFFS/p0fbpf/DEVICE, made if missing; empty with `error` if BPFFS is not
// a bpffs. The system's place for one, /sys/fs/bpf, gets one mounted when
// `make` finds it without (as systemd mounts it at boot), and says so in
// `mounted`.
std::string pin_directory(const std::string& bpffs, const std::string& device, bool make, std::string& error,
                          bool* mounted = nullptr) {
  if (make && bpffs == kSystemBpffs && !is_bpffs(bpffs)) {
    if (mount("bpf", bpffs.c_str(), "bpf", 0, "mode=0700") != 0) {
      error = system_error("cannot mount a BPF file system at " + bpffs, errno);
      return "";
    }
    if (mounted) *mounted = true;
  }
  if (!is_bpffs(bpffs)) {
    error = fmt::format("{} is not a BPF file system\n  help: mount -t bpf bpf {}", bpffs, bpffs);
    return "";
  }
  std::string top = bpffs + "/p0fbpf";
  std::string dir = top + "/" + device;
  if (make) {
    for (const std::string& d : {top, dir}) {
      if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) {
        error = system_error("cannot make " + d, errno);
        return "";
      }
    }
  }
  return dir;
}

// bpffs refuses names with dots: the name a pin has until rename() puts
// it in place in one step.
std::string fresh_name(const std::string& path) { return path + "_new"; }

// Pins `fd` at fresh_name(path).
bool pin_new(int fd, const std::string& path, std::string& error) {
  std::string fresh = fresh_name(path);
  unlink(fresh.c_str());
  if (bpf_obj_pin(fd, fresh.c_str()) != 0) {
    error = system_error("cannot pin " + fresh, errno);
    return false;
  }
  return true;
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
  error = fmt::format("{} has link type {} (ARPHRD), neither Ethernet nor a bare IP device",
                      device, request.ifr_hwaddr.sa_family);
  return std::nullopt;
}

AttachResult attach(const AttachRequest& request, const BpfProgram& classic) {
  AttachResult result;
  std::string& error = result.error;
  int ifindex = interface_index(request.device, error);
  if (!ifindex) return result;
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
  std::string dir = pin_directory(request.bpffs, request.device, true, error, &result.mounted_bpffs);
  if (dir.empty()) return result;
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
  } directories{dir, request.bpffs + "/p0fbpf"};

  // The maps: counters per slot and CPU; the slots' names, frozen.
  auto slots = static_cast<std::uint32_t>(request.slot_names.size() + 1);
  Fd counters(ebpf::create_counter_map(slots, kCountersName));
  Fd names(bpf_map_create(BPF_MAP_TYPE_ARRAY, kNamesName, 4, kNameSize, slots, nullptr));
  if (!counters || !names) {
    error = system_error("cannot create the program's maps", errno);
    return result;
  }
  for (std::uint32_t slot = 0; slot < slots; ++slot) {
    std::string name = slot == 0 ? (request.count_only ? kCountsOnly : kDrops) : request.slot_names[slot - 1];
    std::vector<char> value(kNameSize, 0);
    std::memcpy(value.data(), name.data(), std::min<std::size_t>(name.size(), kNameSize - 1));
    if (bpf_map_update_elem(names.get(), &slot, value.data(), BPF_ANY) != 0) {
      error = system_error("cannot fill the names map", errno);
      return result;
    }
  }
  if (bpf_map_freeze(names.get()) != 0) {
    error = system_error("cannot freeze the names map", errno);
    return result;
  }
  ebpf::Program program;
  try {
    program = ebpf::translate(classic, ebpf::Target::Xdp,
                              ebpf::XdpCounters{counters.get(), slots, request.count_only});
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
  // The program never reads the names; bound to it, they are found with it.
  if (bpf_prog_bind_map(fd, names.get(), nullptr) != 0) {
    error = system_error("cannot bind the names map to the program", errno);
    return result;
  }

  const std::string paths[3] = {dir + "/program", dir + "/counters", dir + "/names"};
  const int fds[3] = {fd, counters.get(), names.get()};
  auto unpin_new = [&] {
    for (const auto& path : paths) unlink(fresh_name(path).c_str());
  };
  for (int i = 0; i < 3; ++i) {
    if (!pin_new(fds[i], paths[i], error)) {
      unpin_new();
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
    unpin_new();
    error = system_error(fmt::format("cannot attach the program to {} in {} mode", request.device, mode_name(mode)),
                         -err);
    return result;
  }
  // Attached: the pins follow. Should one fail, the device goes back to
  // what it had.
  for (int i = 0; i < 3; ++i) {
    if (rename(fresh_name(paths[i]).c_str(), paths[i].c_str()) != 0) {
      error = system_error("cannot pin " + paths[i], errno);
      bpf_xdp_attach_opts undo{};
      undo.sz = sizeof undo;
      undo.old_prog_fd = fd;
      if (old->id) {
        bpf_xdp_attach(ifindex, old->program.get(), mode_flag(mode) | XDP_FLAGS_REPLACE, &undo);
      } else {
        bpf_xdp_detach(ifindex, mode_flag(mode) | XDP_FLAGS_REPLACE, &undo);
      }
      unpin_new();
      return result;
    }
  }
  bpf_prog_info info{};
  std::uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &length) == 0) result.program_id = info.id;
  result.mode = mode;
  result.replaced_id = old->id;
  result.pin_directory = dir;
  directories.keep = true;
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
  std::vector<char> name(kNameSize);
  Stats out;
  out.program_id = found->id;
  out.mode = found->mode;
  bool ok = true;
  for (std::uint32_t slot = 0; slot < counts->size() && ok; ++slot) {
    std::uint64_t count = (*counts)[slot];
    if (bpf_map_lookup_elem(found->names.get(), &slot, name.data()) != 0) ok = false;
    std::string text(name.data(), strnlen(name.data(), name.size()));
    if (slot == 0) {
      out.seen = count;
      out.count_only = text == kCountsOnly;
    } else {
      out.matches.push_back({text, count});
    }
  }
  if (!ok) {
    error = system_error("cannot read the signatures' names", errno);
    return std::nullopt;
  }
  return out;
}

DetachResult detach(const std::string& device, const std::string& bpffs) {
  DetachResult result;
  std::string& error = result.error;
  int ifindex = interface_index(device, error);
  if (!ifindex) return result;
  std::optional<Attached> found = attached_program(ifindex, error);
  if (!found) return result;
  if (found->id && !found->ours()) {
    error = fmt::format("the XDP program on {} is not p0fbpf's (id {}, name '{}'); p0fbpf detaches only its own",
                        device, found->id, found->name);
    return result;
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
  // The pins, where this process can see them.
  std::string ignored;
  std::string dir = pin_directory(bpffs, device, false, ignored);
  if (!dir.empty()) {
    for (const char* name : {"program", "counters", "names", "program_new", "counters_new", "names_new"}) {
      unlink((dir + "/" + name).c_str());
    }
    rmdir(dir.c_str());
    rmdir((bpffs + "/p0fbpf").c_str());  // only if empty
  }
  return result;
}

std::string pin_socket_filter(const BpfProgram& classic, const std::string& path) {
  // Where it goes is checked before the kernel is asked to load anything.
  std::size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  if (path.find('.', slash == std::string::npos ? 0 : slash) != std::string::npos) {
    return fmt::format("{}: names in a BPF file system cannot hold a '.'", path);
  }
  if (!is_bpffs(dir)) {
    return fmt::format("{} is not in a BPF file system (mount -t bpf bpf /sys/fs/bpf)", path);
  }
  ebpf::Program program;
  try {
    program = ebpf::translate(classic, ebpf::Target::SocketFilter);
  } catch (const std::exception& e) {
    return std::string("cannot translate the program: ") + e.what();
  }
  ebpf::LoadResult loaded = ebpf::load(program, {kProgramName, false});
  if (!loaded.program) return "the kernel refuses the program: " + loaded.error;
  std::string error;
  if (!pin_new(loaded.program->fd(), path, error)) return error;
  if (rename(fresh_name(path).c_str(), path.c_str()) != 0) {
    int saved = errno;
    unlink(fresh_name(path).c_str());
    return system_error("cannot pin " + path, saved);
  }
  return "";
}

}  // namespace p0fbpf::xdp
