#include "backend/ebpf/loader.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

namespace p0fbpf::ebpf {

// The translation's own copies of the kernel ABI.
static_assert(sizeof(Instruction) == sizeof(bpf_insn));
static_assert(isa::kJmp32 == BPF_JMP32 && isa::kAlu64 == BPF_ALU64 && isa::kDoubleWord == BPF_DW);
static_assert(isa::kMov == BPF_MOV && isa::kEnd == BPF_END && isa::kToBigEndian == BPF_TO_BE);
static_assert(isa::kJne == BPF_JNE && isa::kJlt == BPF_JLT && isa::kJle == BPF_JLE && isa::kExit == BPF_EXIT);
static_assert(isa::kCall == BPF_CALL && isa::kPseudoMapFd == BPF_PSEUDO_MAP_FD);
static_assert(isa::kMapLookupElem == BPF_FUNC_map_lookup_elem);
static_assert(isa::kXdpDrop == XDP_DROP && isa::kXdpPass == XDP_PASS);
static_assert(isa::kXdpDataOffset == offsetof(xdp_md, data));
static_assert(isa::kXdpDataEndOffset == offsetof(xdp_md, data_end));
static_assert(isa::kSkbLenOffset == offsetof(__sk_buff, len));

namespace {

constexpr std::size_t kEthernetHeader = 14;
constexpr std::size_t kLogSize = 1 << 20;

bpf_insn kernel_instruction(const Instruction& insn) {
  bpf_insn out{};
  out.code = insn.code;
  out.dst_reg = insn.dst;
  out.src_reg = insn.src;
  out.off = insn.offset;
  out.imm = insn.imm;
  return out;
}

}  // namespace

LoadedProgram::LoadedProgram(LoadedProgram&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), target_(other.target_) {}

LoadedProgram& LoadedProgram::operator=(LoadedProgram&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    target_ = other.target_;
  }
  return *this;
}

LoadedProgram::~LoadedProgram() {
  if (fd_ >= 0) close(fd_);
}

std::optional<std::uint32_t> LoadedProgram::run(const std::vector<std::uint8_t>& packet) const {
  std::vector<std::uint8_t> input;
  if (target_ == Target::SocketFilter) input.assign(kEthernetHeader, 0);
  input.insert(input.end(), packet.begin(), packet.end());
  std::optional<Timing> timing = time(input, 1);
  if (!timing) return std::nullopt;
  return timing->verdict;
}

std::optional<LoadedProgram::Timing> LoadedProgram::time(const std::vector<std::uint8_t>& input,
                                                         std::uint32_t repeat) const {
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = input.data();
  opts.data_size_in = static_cast<std::uint32_t>(input.size());
  opts.repeat = repeat;
  if (bpf_prog_test_run_opts(fd_, &opts) != 0) return std::nullopt;
  return Timing{opts.retval, opts.duration};
}

std::optional<std::size_t> LoadedProgram::kernel_instructions() const {
  bpf_prog_info info{};
  std::uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(fd_, &info, &length) != 0) return std::nullopt;
  return info.xlated_prog_len / sizeof(bpf_insn);
}

std::optional<std::vector<std::uint32_t>> program_map_ids(int program_fd) {
  bpf_prog_info info{};
  std::uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(program_fd, &info, &length) != 0) return std::nullopt;
  std::vector<std::uint32_t> ids(info.nr_map_ids);
  info = bpf_prog_info{};
  info.nr_map_ids = static_cast<std::uint32_t>(ids.size());
  info.map_ids = reinterpret_cast<std::uint64_t>(ids.data());
  length = sizeof info;
  if (bpf_obj_get_info_by_fd(program_fd, &info, &length) != 0) return std::nullopt;
  return ids;
}

std::optional<std::vector<std::uint64_t>> summed_counters(int map_fd) {
  bpf_map_info info{};
  std::uint32_t length = sizeof info;
  if (bpf_obj_get_info_by_fd(map_fd, &info, &length) != 0) return std::nullopt;
  if (info.type != BPF_MAP_TYPE_PERCPU_ARRAY || info.key_size != 4 || info.value_size != 8) {
    errno = EINVAL;
    return std::nullopt;
  }
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) {
    errno = -cpus;
    return std::nullopt;
  }
  std::vector<std::uint64_t> sums(info.max_entries, 0);
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(cpus));
  for (std::uint32_t key = 0; key < info.max_entries; ++key) {
    if (bpf_map_lookup_elem(map_fd, &key, per_cpu.data()) != 0) return std::nullopt;
    for (std::uint64_t v : per_cpu) sums[key] += v;
  }
  return sums;
}

std::optional<std::vector<std::uint64_t>> LoadedProgram::counters() const {
  std::optional<std::vector<std::uint32_t>> ids = program_map_ids(fd_);
  if (!ids) return std::nullopt;
  for (std::uint32_t id : *ids) {
    int map = bpf_map_get_fd_by_id(id);
    if (map < 0) return std::nullopt;
    std::optional<std::vector<std::uint64_t>> sums = summed_counters(map);
    int saved = errno;
    close(map);
    errno = saved;
    if (sums) return sums;
  }
  errno = ENOENT;
  return std::nullopt;
}

int create_counter_map(std::uint32_t slots, const char* name) {
  return bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, name, sizeof(std::uint32_t), sizeof(std::uint64_t), slots, nullptr);
}

LoadResult load(const Program& program, const LoadOptions& options) {
  std::vector<bpf_insn> code;
  code.reserve(program.instructions.size());
  for (const Instruction& insn : program.instructions) code.push_back(kernel_instruction(insn));
  bpf_prog_type type = program.target == Target::Xdp ? BPF_PROG_TYPE_XDP : BPF_PROG_TYPE_SOCKET_FILTER;

  auto attempt = [&](std::uint32_t log_level, std::string* log) {
    bpf_prog_load_opts opts{};
    opts.sz = sizeof opts;
    std::vector<char> buffer(log_level ? kLogSize : 0);
    if (log_level) {
      opts.log_level = log_level;
      opts.log_size = static_cast<std::uint32_t>(buffer.size());
      opts.log_buf = buffer.data();
    }
    int fd = bpf_prog_load(type, options.name.c_str(), "MIT", code.data(), code.size(), &opts);
    int saved = errno;
    if (log) *log = buffer.empty() ? "" : std::string(buffer.data());
    errno = saved;
    return fd;
  };

  LoadResult result;
  // Statistics only (BPF_LOG_STATS) when kept: the full log of a large
  // program is longer than any buffer.
  int fd = attempt(options.keep_log ? 4 : 0, &result.verifier_log);
  if (fd < 0) {
    result.error = std::strerror(errno);
    attempt(1, &result.verifier_log);
    return result;
  }
  result.program.emplace(fd, program.target);
  return result;
}

LoadResult load_object(const std::string& path, Target target) {
  LoadResult result;
  bpf_object* object = bpf_object__open_file(path.c_str(), nullptr);
  if (!object) {
    result.error = "cannot open " + path + ": " + std::strerror(errno);
    return result;
  }
  bpf_program* program = bpf_object__next_program(object, nullptr);
  if (!program) {
    result.error = path + " holds no program";
  } else if (int err = bpf_object__load(object); err != 0) {
    result.error = std::strerror(-err);
  } else if (int fd = dup(bpf_program__fd(program)); fd < 0) {
    result.error = std::strerror(errno);
  } else {
    result.program.emplace(fd, target);
  }
  bpf_object__close(object);
  return result;
}

}  // namespace p0fbpf::ebpf
