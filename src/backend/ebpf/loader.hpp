// Translated programs in the kernel: loaded with libbpf, run on packets with
// BPF_PROG_TEST_RUN. Needs CAP_BPF (and CAP_PERFMON for XDP programs that
// read the packet length), in practice root.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/ebpf/translate.hpp"

namespace p0fbpf::ebpf {

// A program the kernel accepted; closes its descriptor when it goes.
class LoadedProgram {
 public:
  LoadedProgram(int fd, Target target) : fd_(fd), target_(target) {}
  LoadedProgram(LoadedProgram&& other) noexcept;
  LoadedProgram& operator=(LoadedProgram&& other) noexcept;
  LoadedProgram(const LoadedProgram&) = delete;
  LoadedProgram& operator=(const LoadedProgram&) = delete;
  ~LoadedProgram();

  int fd() const { return fd_; }
  Target target() const { return target_; }

  // The program's return value on `packet` (what its classic program sees:
  // a socket filter gets it behind a 14-byte Ethernet header, which the
  // kernel's test run takes off), or nullopt with errno set when the kernel
  // refuses the run. The kernel refuses XDP input shorter than an Ethernet
  // header (14 bytes), and any input longer than about a page.
  std::optional<std::uint32_t> run(const std::vector<std::uint8_t>& packet) const;

  // The kernel's own timing of `repeat` back-to-back runs on `input`, given
  // as the test run takes it: a socket filter's first 14 bytes are an
  // Ethernet header, which the kernel takes off (so the same frames can go
  // to both targets). nullopt with errno set when the kernel refuses.
  struct Timing {
    std::uint32_t verdict = 0;
    std::uint32_t mean_ns = 0;  // per run, in whole nanoseconds (the kernel truncates)
  };
  std::optional<Timing> time(const std::vector<std::uint8_t>& input, std::uint32_t repeat) const;

  // How many instructions the kernel runs: the program after the verifier's
  // rewrites (a socket filter's LD_ABS and LD_IND become helper calls);
  // nullopt with errno set if the kernel will not say.
  std::optional<std::size_t> kernel_instructions() const;

  // The slots of the program's per-CPU array of 64-bit counters (the XDP
  // program's NAME_counters), each summed over the CPUs; nullopt with errno
  // set if the kernel will not say, or the program has no such map.
  std::optional<std::vector<std::uint64_t>> counters() const;

 private:
  int fd_ = -1;
  Target target_;
};

struct LoadResult {
  std::optional<LoadedProgram> program;
  std::string error;         // why the kernel refused it
  std::string verifier_log;  // on refusal, or always if asked for
};

struct LoadOptions {
  std::string name = "p0fbpf";  // at most 15 characters: letters, digits, _ and .
  bool keep_log = false;        // the verifier's statistics even on success
};

LoadResult load(const Program& program, const LoadOptions& options = {});

// The ids of the maps a loaded program uses; nullopt with errno set.
std::optional<std::vector<std::uint32_t>> program_map_ids(int program_fd);

// Each slot of a per-CPU array of 64-bit counters, summed over the CPUs;
// nullopt with errno set (EINVAL for another kind of map).
std::optional<std::vector<std::uint64_t>> summed_counters(int map_fd);

// A per-CPU array of `slots` 64-bit counters, as XdpCounters wants it: its
// descriptor, or -1 with errno set.
int create_counter_map(std::uint32_t slots, const char* name);

// The first program of an ELF object file (as clang -target bpf writes
// it), loaded with libbpf; libbpf prints the verifier's log on refusal.
LoadResult load_object(const std::string& path, Target target);

}  // namespace p0fbpf::ebpf
