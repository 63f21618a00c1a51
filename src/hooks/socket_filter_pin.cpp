// p0fbpf pin: the classic program as an eBPF socket filter, pinned for
// iptables -m bpf --object-pinned. The program carries a mark (a frozen
// one-entry map bound to it, p0fbpf_pin, holding kMark) so that a later
// pin knows exactly which pins it may replace.
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "hooks/fd.hpp"
#include "backend/ebpf/loader.hpp"
#include "p0fbpf/xdp.hpp"
#include "hooks/pins.hpp"
#include "backend/ebpf/translate.hpp"

namespace p0fbpf::xdp {
namespace {

constexpr const char* kProgramName = "p0fbpf";
constexpr const char* kMarkName = "p0fbpf_pin";
constexpr std::uint32_t kMarkSize = 32;
constexpr char kMark[kMarkSize] = "p0fbpf socket filter 1";
using ebpf::is_bpffs;

// p0fbpf's socket filter: a socket filter program named p0fbpf whose only
// map is its mark.
bool is_our_socket_filter(int fd) {
  ebpf::ProgramFacts program;
  if (!ebpf::program_facts(fd, program) || program.type != BPF_PROG_TYPE_SOCKET_FILTER ||
      program.name != kProgramName) {
    return false;
  }
  std::optional<std::vector<std::uint32_t>> ids = ebpf::program_map_ids(fd);
  if (!ids || ids->size() != 1) return false;
  ebpf::Fd map(bpf_map_get_fd_by_id(ids->front()));
  ebpf::MapFacts facts;
  if (!map || !ebpf::map_facts(map.get(), facts) || facts.name != kMarkName || facts.type != BPF_MAP_TYPE_ARRAY ||
      facts.key_size != 4 || facts.value_size != kMarkSize || facts.max_entries != 1) {
    return false;
  }
  char value[kMarkSize] = {};
  std::uint32_t key = 0;
  return bpf_map_lookup_elem(map.get(), &key, value) == 0 && std::memcmp(value, kMark, kMarkSize) == 0;
}

}  // namespace

std::string pin_socket_filter(const BpfProgram& classic, const std::string& path) {
  // Where it goes is checked before the kernel is asked to load anything.
  std::size_t slash = path.rfind('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  struct stat st {};
  if (base.empty() || base == "." || base == ".." || (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
    return fmt::format("{} is a directory, not the path of a pin\n  help: name the pin in it, e.g. {}{}p0fbpf-syn",
                       path, path, path.empty() || path.back() == '/' ? "" : "/");
  }
  if (base.find('.') != std::string::npos) {
    return fmt::format("{}: names in a BPF file system cannot hold a '.'", path);
  }
  if (!is_bpffs(dir)) {
    return fmt::format("{} is not in a BPF file system\n  help: mount -t bpf bpf /sys/fs/bpf", path);
  }
  // What is there already must be p0fbpf's socket filter.
  ebpf::PinnedObject present;
  std::string error;
  if (!ebpf::pinned_object(path, present, error)) return error;
  if (present.kind != ebpf::PinKind::None &&
      !(present.kind == ebpf::PinKind::Program && is_our_socket_filter(present.fd.get()))) {
    return fmt::format(
        "{} holds {} that is not a socket filter p0fbpf pinned; p0fbpf replaces only its own pins\n"
        "  help: choose another path, or remove the pin (rm {}) if nothing uses it",
        path, ebpf::pin_kind_name(present.kind), path);
  }

  ebpf::Fd mark(bpf_map_create(BPF_MAP_TYPE_ARRAY, kMarkName, 4, kMarkSize, 1, nullptr));
  std::uint32_t key = 0;
  if (!mark || bpf_map_update_elem(mark.get(), &key, kMark, BPF_ANY) != 0 || bpf_map_freeze(mark.get()) != 0) {
    return fmt::format("cannot create the program's mark map: {}", std::strerror(errno));
  }
  ebpf::Program program;
  try {
    program = ebpf::translate(classic, ebpf::Target::SocketFilter);
  } catch (const std::exception& e) {
    return std::string("cannot translate the program: ") + e.what();
  }
  ebpf::LoadResult loaded = ebpf::load(program, {kProgramName, false});
  if (!loaded.program) return "the kernel refuses the program: " + loaded.error;
  if (bpf_prog_bind_map(loaded.program->fd(), mark.get(), nullptr) != 0) {
    return fmt::format("cannot bind the mark map to the program: {}", std::strerror(errno));
  }
  // From the fresh pin to its place, Ctrl-C, TERM and HUP wait: a run
  // ended between the two would leave the fresh name pinned for good.
  sigset_t stops, before;
  sigemptyset(&stops);
  for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, signal);
  sigprocmask(SIG_BLOCK, &stops, &before);
  std::string fresh = ebpf::pin_fresh(loaded.program->fd(), path, error);
  bool placed = !fresh.empty() && ebpf::move_into_place(fresh, path, present.id, error);
  sigprocmask(SIG_SETMASK, &before, nullptr);
  return placed ? "" : error;
}

}  // namespace p0fbpf::xdp
