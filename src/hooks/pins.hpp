// Pins in a BPF file system, handled as p0fbpf's own or not at all: what is
// pinned at a path, told exactly (a program, a map, a link); a new pin made
// under a temporary name no one else has (bpf_obj_pin never overwrites);
// and that pin swapped into place in one step, replacing only an object the
// caller has recognised as its own.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "hooks/fd.hpp"

namespace p0fbpf::ebpf {

// "WHAT: the error's text", for messages.
std::string system_error(const std::string& what, int error);

// Whether `path` is in a BPF file system (statfs's BPF_FS_MAGIC).
bool is_bpffs(const std::string& path);

enum class PinKind { None, Program, Map, Link, NotBpf };

struct PinnedObject {
  PinKind kind = PinKind::None;
  Fd fd;              // open, for a program, a map or a link
  std::uint32_t id = 0;  // the kernel's id of a program or a map
};

// What is at `path`: None if nothing; NotBpf for a directory or anything
// bpf_obj_get will not open. Fails (false, with `error`) only when the
// kernel will not say.
bool pinned_object(const std::string& path, PinnedObject& out, std::string& error);

// What a PinKind is called in a message ("a BPF map", ...).
const char* pin_kind_name(PinKind kind);

// The program or map name, type and shape of a descriptor.
struct ProgramFacts {
  std::uint32_t id = 0, type = 0;
  std::string name;
  std::uint64_t load_time_ns = 0;  // since boot
};
bool program_facts(int fd, ProgramFacts& out);
struct MapFacts {
  std::uint32_t id = 0, type = 0, key_size = 0, value_size = 0, max_entries = 0;
  std::string name;
};
bool map_facts(int fd, MapFacts& out);

// A pin of `fd` next to `path`, under a name made for it alone
// (PATH_new_PID_RANDOM): its name, or empty with `error`.
std::string pin_fresh(int fd, const std::string& path, std::string& error);

// Moves the fresh pin to `path` in one step. If `path` holds an object,
// `expected_id` must be its id (the caller has checked it is its own): the
// two are exchanged, and the old object stays under the fresh name until
// the caller unlinks it. If `path` holds
// nothing (expected_id 0), it must still hold nothing at the moment of the
// move. On failure the fresh pin is removed and `path` is as it was.
bool swap_in(const std::string& fresh, const std::string& path, std::uint32_t expected_id, std::string& error);

// A new, empty directory next to `path`, under a name made for it alone
// (PATH_new_PID_RANDOM): its name, or empty with `error`.
std::string fresh_directory(const std::string& path, std::string& error);

// swap_in(), then the old object unpinned.
bool move_into_place(const std::string& fresh, const std::string& path, std::uint32_t expected_id,
                     std::string& error);

}  // namespace p0fbpf::ebpf
