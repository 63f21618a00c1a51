#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/capture.hpp"

namespace p0fbpf::cli {
namespace {

constexpr int kCleanupSignals[] = {SIGINT, SIGTERM, SIGHUP};

// The temporary file a signal must not leave behind, stored beforehand: the
// handler may only make async-signal-safe calls.
char g_temporary[4096];
volatile sig_atomic_t g_armed = 0;

extern "C" void remove_temporary_and_die(int signal) {
  if (g_armed) unlink(g_temporary);
  // SA_RESETHAND restored the default action; it kills us on return.
  raise(signal);
}

// While the output is written: SIGINT, SIGTERM and SIGHUP remove the
// temporary file, then end the process as they would have. Signals the
// process ignores stay ignored. Blocks them from construction to unblock(),
// so that none arrives between the temporary's creation and arm().
class RemoveOnSignal {
 public:
  RemoveOnSignal() {
    sigemptyset(&set_);
    for (int s : kCleanupSignals) sigaddset(&set_, s);
    sigprocmask(SIG_BLOCK, &set_, &old_mask_);
  }
  ~RemoveOnSignal() { disarm(); }
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;

  // Returns false if the path is too long to keep (then nothing is armed).
  bool arm(const std::string& path) {
    if (path.size() >= sizeof g_temporary) return false;
    std::memcpy(g_temporary, path.c_str(), path.size() + 1);
    g_armed = 1;
    struct sigaction action {};
    action.sa_handler = remove_temporary_and_die;
    action.sa_mask = set_;
    action.sa_flags = SA_RESETHAND;
    for (std::size_t i = 0; i < std::size(kCleanupSignals); ++i) {
      sigaction(kCleanupSignals[i], nullptr, &old_actions_[i]);
      installed_[i] = old_actions_[i].sa_handler != SIG_IGN;
      if (installed_[i]) sigaction(kCleanupSignals[i], &action, nullptr);
    }
    return true;
  }
  void block() { sigprocmask(SIG_BLOCK, &set_, nullptr); }
  void unblock() { sigprocmask(SIG_SETMASK, &old_mask_, nullptr); }
  // The previous actions back; a signal that came while blocked is
  // delivered now, with them.
  void disarm() {
    block();
    g_armed = 0;
    for (std::size_t i = 0; i < std::size(kCleanupSignals); ++i) {
      if (installed_[i]) sigaction(kCleanupSignals[i], &old_actions_[i], nullptr);
      installed_[i] = false;
    }
    unblock();
  }

 private:
  sigset_t set_;
  sigset_t old_mask_;
  struct sigaction old_actions_[std::size(kCleanupSignals)] {};
  bool installed_[std::size(kCleanupSignals)] = {};
};

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// Whether writing to `output` ("-": standard output) would write to the
// regular file the capture is read from.
bool writes_over_input(const Capture& in, const std::string& output) {
  struct stat read {}, written {};
  FILE* file = in.file();
  if (!file || fstat(fileno(file), &read) != 0 || !S_ISREG(read.st_mode)) return false;
  int found = output == "-" ? fstat(STDOUT_FILENO, &written) : stat(output.c_str(), &written);
  return found == 0 && same_file(read, written);
}

}  // namespace

void TestCommand::add_to(CLI::App& app) {
  app.add_option("-r,--read", input, "the capture to test (pcap or pcapng); - reads it from standard input")
      ->required()
      ->type_name("FILE");
  output_option = app.add_option("-w,--write", output,
                                 "write the matching packets to this pcap file, replaced only once complete; "
                                 "- writes them to standard output (and the count to stderr)")
                      ->type_name("FILE");
  flags.add_to(app, "count (and write) the packets the signatures do not match");
}

int TestCommand::run() const {
  const bool writing = output_option && output_option->count() > 0;
  if (writing && output.empty()) {
    fmt::print(stderr, "p0fbpf: error: -w needs a file name\n  help: -w - writes to standard output\n");
    return kExitError;
  }
  if (input == "-" && std::find(flags.signatures.begin(), flags.signatures.end(), "-") != flags.signatures.end()) {
    fmt::print(stderr,
               "p0fbpf: error: the capture (-r -) and the signatures (-) cannot both be read from standard input\n");
    return kExitError;
  }
  auto sources = read_signatures(flags.signatures);
  if (!sources) return kExitError;
  auto opened = open_capture(input);
  if (!opened) return kExitError;
  Capture& in = *opened->capture;
  if (writing && writes_over_input(in, output)) {
    fmt::print(stderr, "p0fbpf: error: -w {} is the capture being read (-r {})\n", output, input);
    return kExitError;
  }
  CompileOptions options = flags.options();
  options.link = opened->link;
  Compilation compiled = compile(*sources, options);
  if (!report(compiled)) return kExitError;
  const BpfProgram& program = *compiled.program;

  // Declared before the writer: destroyed after it, which removes the
  // temporary file on every early return.
  RemoveOnSignal guard;
  std::shared_ptr<CaptureWriter> writer;
  if (writing) {
    auto created = CaptureWriter::open(output, in);
    if (!created) {
      fmt::print(stderr, "p0fbpf: error: {}\n", created.error().message);
      return kExitError;
    }
    writer = *created;
    if (!writer->temporary().empty() && !guard.arm(writer->temporary())) {
      fmt::print(stderr, "p0fbpf: error: cannot write {}: {}\n", output, std::strerror(ENAMETOOLONG));
      return kExitError;
    }
  }
  guard.unblock();

  std::size_t matched = 0;
  std::optional<std::size_t> total = read_records(in, "testing", "tested", [&](const CaptureRecord& record) {
    // The program sees what p0f sees: the captured bytes, no more.
    auto length = static_cast<unsigned>(record.length());
    if (bpf_filter(program.instructions.data(), record.data, length, length) != 0) {
      ++matched;
      if (writer && !writer->write(record)) in.stop();
    }
  });
  if (!total) return kExitError;
  if (writer) {
    guard.block();  // no signal between the rename and disarming
    std::string problem;
    bool written = writer->close(problem);
    guard.disarm();
    if (!written) {
      fmt::print(stderr, "p0fbpf: error: {}\n", problem);
      return kExitError;
    }
  }
  // With the packets on standard output, the count goes to stderr.
  fmt::print(writer && writer->to_stdout() ? stderr : stdout, "{} of {} packets matched\n", matched, *total);
  return matched > 0 ? kExitOk : kExitNoMatch;
}

}  // namespace p0fbpf::cli
