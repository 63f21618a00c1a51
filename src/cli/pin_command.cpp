#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/kernel_limits.hpp"
#include "p0fbpf/xdp.hpp"

namespace p0fbpf::cli {

void PinCommand::add_to(CLI::App& app) {
  app.add_option("path", path, "where the program goes, in a BPF file system (e.g. /sys/fs/bpf/p0fbpf-syn)")
      ->required()
      ->type_name("PATH");
  flags.add_to(app, "accept the packets the signatures do not match");
  database.add_to(app);
}

int PinCommand::run() const {
  CompileOptions options = flags.options();  // raw: iptables and ip6tables see the IP header
  options.comments = false;                  // for listings only: the kernel needs the instructions
  options.keep_ir = false;
  refuse_over_kernel_limit(options, KernelProgram::SocketFilter);
  std::optional<Selection> selection = read_selection(flags.signatures, database, options.direction);
  if (!selection) return kExitError;
  std::optional<BpfProgram> program = compile_checked(selection->sources, options);
  if (!program) return kExitError;
  release_compiler_memory();  // before the load
  std::unique_ptr<SystemLock> lock = take_system_lock();
  if (!lock) return kExitError;
  if (std::string error = xdp::pin_socket_filter(*program, path); !error.empty()) {
    print_error(error);
    return kExitError;
  }
  fmt::print(stderr, "p0fbpf: pinned {} ({} classic instructions, {}): iptables -m bpf --object-pinned {}\n",
             printable(path), program->instructions.size(),
             selection->sources.size() == 1 ? "1 signature" : fmt::format("{} signatures", selection->sources.size()),
             printable(path));
  return kExitOk;
}

}  // namespace p0fbpf::cli
