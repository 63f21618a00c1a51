#include "hooks/pins.hpp"

#include <bpf/bpf.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include <fmt/format.h>

namespace p0fbpf::ebpf {

std::string system_error(const std::string& what, int error) {
  return fmt::format("{}: {}", what, std::strerror(error));
}

bool is_bpffs(const std::string& path) {
  constexpr long kBpffsMagic = 0xcafe4a11;  // BPF_FS_MAGIC
  struct statfs fs {};
  return statfs(path.c_str(), &fs) == 0 && static_cast<long>(fs.f_type) == kBpffsMagic;
}

namespace {

// What the kernel calls the descriptor's file: anon_inode:bpf-prog, ...
PinKind kind_of(int fd) {
  char target[64] = {};
  std::string link = fmt::format("/proc/self/fd/{}", fd);
  ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  if (n <= 0) return PinKind::NotBpf;
  std::string name(target, static_cast<std::size_t>(n));
  if (name == "anon_inode:bpf-prog") return PinKind::Program;
  if (name == "anon_inode:bpf-map") return PinKind::Map;
  if (name == "anon_inode:bpf_link" || name == "anon_inode:bpf-link") return PinKind::Link;
  return PinKind::NotBpf;
}

std::uint32_t id_of(int fd, PinKind kind) {
  if (kind == PinKind::Program) {
    ProgramFacts facts;
    return program_facts(fd, facts) ? facts.id : 0;
  }
  if (kind == PinKind::Map) {
    MapFacts facts;
    return map_facts(fd, facts) ? facts.id : 0;
  }
  bpf_link_info info{};
  std::uint32_t length = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &length) == 0 ? info.id : 0;
}

}  // namespace

const char* pin_kind_name(PinKind kind) {
  switch (kind) {
    case PinKind::None: return "nothing";
    case PinKind::Program: return "a BPF program";
    case PinKind::Map: return "a BPF map";
    case PinKind::Link: return "a BPF link";
    case PinKind::NotBpf: break;
  }
  return "something that is not a BPF object";
}

bool pinned_object(const std::string& path, PinnedObject& out, std::string& error) {
  out = PinnedObject{};
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return true;
    error = system_error("cannot look at " + path, errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    out.kind = PinKind::NotBpf;
    return true;
  }
  Fd fd(bpf_obj_get(path.c_str()));
  if (!fd) {
    if (errno == ENOENT) return true;  // gone meanwhile
    if (errno == EINVAL || errno == EPERM) {
      out.kind = PinKind::NotBpf;
      return true;
    }
    error = system_error("cannot open the pin " + path, errno);
    return false;
  }
  out.kind = kind_of(fd.get());
  out.id = out.kind == PinKind::NotBpf ? 0 : id_of(fd.get(), out.kind);
  out.fd = std::move(fd);
  return true;
}

bool program_facts(int fd, ProgramFacts& out) {
  bpf_prog_info info{};
  std::uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0) return false;
  out.id = info.id;
  out.type = info.type;
  out.name = std::string(info.name, strnlen(info.name, sizeof info.name));
  out.load_time_ns = info.load_time;
  return true;
}

bool map_facts(int fd, MapFacts& out) {
  bpf_map_info info{};
  std::uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0) return false;
  out.id = info.id;
  out.type = info.type;
  out.key_size = info.key_size;
  out.value_size = info.value_size;
  out.max_entries = info.max_entries;
  out.name = std::string(info.name, strnlen(info.name, sizeof info.name));
  return true;
}

std::string pin_fresh(int fd, const std::string& path, std::string& error) {
  std::random_device random;
  for (int attempt = 0; attempt < 8; ++attempt) {
    // bpffs refuses names with dots.
    std::string fresh = fmt::format("{}_new_{}_{:08x}", path, getpid(), random());
    if (bpf_obj_pin(fd, fresh.c_str()) == 0) return fresh;
    if (errno != EEXIST) {
      error = system_error("cannot pin " + fresh, errno);
      return "";
    }
  }
  error = "cannot find a free temporary name next to " + path;
  return "";
}

std::string fresh_directory(const std::string& path, std::string& error) {
  std::random_device random;
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string fresh = fmt::format("{}_new_{}_{:08x}", path, getpid(), random());
    if (mkdir(fresh.c_str(), 0700) == 0) return fresh;
    if (errno != EEXIST) {
      error = system_error("cannot make " + fresh, errno);
      return "";
    }
  }
  error = "cannot find a free temporary name next to " + path;
  return "";
}

bool swap_in(const std::string& fresh, const std::string& path, std::uint32_t expected_id, std::string& error) {
  if (expected_id == 0) {
    if (renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
      int saved = errno;
      unlink(fresh.c_str());
      error = saved == EEXIST ? fmt::format("{} appeared while p0fbpf was pinning: left alone", path)
                              : system_error("cannot pin " + path, saved);
      return false;
    }
    return true;
  }
  if (renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) != 0) {
    int saved = errno;
    unlink(fresh.c_str());
    error = saved == ENOENT ? fmt::format("{} went away while p0fbpf was pinning", path)
                            : system_error("cannot pin " + path, saved);
    return false;
  }
  // The fresh name now holds what was at `path`: it must be what the
  // caller checked, or it goes back.
  PinnedObject old;
  std::string ignored;
  if (!pinned_object(fresh, old, ignored) || old.id != expected_id) {
    // Only once the other object is back at `path` does the fresh name
    // hold our pin again, to be removed.
    if (renameat2(AT_FDCWD, fresh.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) != 0) {
      error = system_error(fmt::format("{} changed while p0fbpf was pinning, and putting it back failed: it is at {} "
                                       "now, and p0fbpf's program at {}",
                                       path, fresh, path),
                           errno);
      return false;
    }
    unlink(fresh.c_str());
    error = fmt::format("{} changed while p0fbpf was pinning: left alone", path);
    return false;
  }
  return true;
}

bool move_into_place(const std::string& fresh, const std::string& path, std::uint32_t expected_id,
                     std::string& error) {
  if (!swap_in(fresh, path, expected_id, error)) return false;
  if (expected_id != 0 && unlink(fresh.c_str()) != 0) {
    error = system_error("cannot remove " + fresh + " (the pin that was at " + path + ")", errno);
    return false;
  }
  return true;
}

}  // namespace p0fbpf::ebpf
