#include "loader.hpp"

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
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = input.data();
  opts.data_size_in = static_cast<std::uint32_t>(input.size());
  opts.repeat = 1;
  if (bpf_prog_test_run_opts(fd_, &opts) != 0) return std::nullopt;
  return opts.retval;
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
