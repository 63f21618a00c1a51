#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

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

// What testing one capture found.
struct Tested {
  std::size_t matched = 0;
  std::size_t total = 0;
  bool wrote_stdout = false;  // the matches went to standard output (-w -, /dev/stdout)
};

// The selection compiled once for each link type the captures have: its
// diagnostics are reported once.
using ProgramsByLink = std::map<std::pair<LinkType, std::uint32_t>, BpfProgram>;

// Tests one capture, writing its matches if `output` is set; nullopt after
// an error.
std::optional<Tested> test_capture(const std::string& input, const Selection& selection,
                                   const CompileOptions& compile_options, const std::string* output,
                                   ProgramsByLink& programs) {
  auto opened = open_capture(input);
  if (!opened) return std::nullopt;
  Capture& in = *opened->capture;
  if (output && writes_over_input(in, *output)) {
    fmt::print(stderr, "p0fbpf: error: -w {} is the capture being read (-r {})\n", *output, input);
    return std::nullopt;
  }
  auto key = std::pair(opened->link.type, opened->link.l3_offset);
  auto known = programs.find(key);
  if (known == programs.end()) {
    CompileOptions options = compile_options;
    options.link = opened->link;
    Compilation compiled = compile(selection.sources, options);
    if (!report(compiled)) return std::nullopt;
    known = programs.emplace(key, *compiled.program).first;
  }
  const BpfProgram& program = known->second;

  // Declared before the writer: destroyed after it, which removes the
  // temporary file on every early return.
  RemoveOnSignal guard;
  std::shared_ptr<CaptureWriter> writer;
  if (output) {
    auto created = CaptureWriter::open(*output, in);
    if (!created) {
      fmt::print(stderr, "p0fbpf: error: {}\n", created.error().message);
      return std::nullopt;
    }
    writer = *created;
    if (!writer->temporary().empty() && !guard.arm(writer->temporary())) {
      fmt::print(stderr, "p0fbpf: error: cannot write {}: {}\n", *output, std::strerror(ENAMETOOLONG));
      return std::nullopt;
    }
  }
  guard.unblock();

  Tested tested;
  std::optional<std::size_t> total = read_records(in, "testing", "tested", [&](const CaptureRecord& record) {
    // The program sees what p0f sees: the captured bytes, no more.
    auto length = static_cast<unsigned>(record.length());
    if (bpf_filter(program.instructions.data(), record.data, length, length) != 0) {
      ++tested.matched;
      if (writer && !writer->write(record)) in.stop();
    }
  });
  if (!total) return std::nullopt;
  tested.total = *total;
  if (writer) {
    tested.wrote_stdout = writer->to_stdout();
    guard.block();  // no signal between the rename and disarming
    std::string problem;
    bool written = writer->close(problem);
    guard.disarm();
    if (!written) {
      fmt::print(stderr, "p0fbpf: error: {}\n", problem);
      return std::nullopt;
    }
  }
  return tested;
}

}  // namespace

void TestCommand::add_to(CLI::App& app) {
  app.add_option("-r,--read", inputs,
                 "a capture to test (pcap or pcapng); - reads it from standard input; several -r test each, "
                 "with a count for each")
      ->required()
      ->allow_extra_args(false)  // -r A -r B SIG: one file each, the rest are signatures
      ->type_name("FILE");
  output_option = app.add_option("-w,--write", output,
                                 "write the matching packets to this pcap file, replaced only once complete; "
                                 "- writes them to standard output (and the count to stderr); one -r only")
                      ->type_name("FILE");
  flags.add_to(app, "count (and write) the packets the signatures do not match");
  database.add_to(app);
}

int TestCommand::run() const {
  const bool writing = output_option && output_option->count() > 0;
  if (writing && output.empty()) {
    fmt::print(stderr, "p0fbpf: error: -w needs a file name\n  help: -w - writes to standard output\n");
    return kExitError;
  }
  if (writing && inputs.size() > 1) {
    fmt::print(stderr,
               "p0fbpf: error: -w writes the matches of one capture, and {} were given\n"
               "  help: test each capture on its own to write its matches\n",
               inputs.size());
    return kExitError;
  }
  const auto from_stdin = std::count(inputs.begin(), inputs.end(), "-");
  if (from_stdin > 1) {
    fmt::print(stderr, "p0fbpf: error: standard input (-r -) can be read only once\n");
    return kExitError;
  }
  if (from_stdin && std::find(flags.signatures.begin(), flags.signatures.end(), "-") != flags.signatures.end()) {
    fmt::print(stderr,
               "p0fbpf: error: the capture (-r -) and the signatures (-) cannot both be read from standard input\n");
    return kExitError;
  }
  CompileOptions options = flags.options();
  // Whatever the capture's link type, a negated rule decides only about
  // SYNs: through its gate at tc and XDP, through -p tcp --syn in iptables.
  options.syn_gate = options.negate;
  auto selection = read_selection(flags.signatures, database, options.direction);
  if (!selection) return kExitError;

  ProgramsByLink programs;
  std::size_t matched = 0;
  bool wrote_stdout = false;
  std::string counts;
  for (const std::string& input : inputs) {
    auto tested = test_capture(input, *selection, options, writing ? &output : nullptr, programs);
    if (!tested) return kExitError;
    matched += tested->matched;
    wrote_stdout = wrote_stdout || tested->wrote_stdout;
    // One capture keeps the line scripts know; several are told apart.
    if (inputs.size() > 1) fmt::format_to(std::back_inserter(counts), "{}: ", printable(input));
    fmt::format_to(std::back_inserter(counts), "{} of {} packets matched\n", tested->matched, tested->total);
  }
  // With the packets on standard output, the count goes to stderr.
  if (wrote_stdout) fmt::print(stderr, "{}", counts);
  else if (!write_stdout(counts)) return kExitError;
  return matched > 0 ? kExitOk : kExitNoMatch;
}

}  // namespace p0fbpf::cli
