#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/quirks.hpp"

namespace p0fbpf::cli {
namespace {

std::string trim(const std::string& text) {
  const char* space = " \t\r\n\v\f";
  auto begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return {};
  auto end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

// A stream of our own on standard input's descriptor, which stays open.
Result<std::shared_ptr<Capture>> open_stdin() {
  int fd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
  FILE* file = fd < 0 ? nullptr : fdopen(fd, "rb");
  if (!file) {
    int error = errno;
    if (fd >= 0) close(fd);
    return Diagnostic{Severity::Error, {}, fmt::format("cannot read capture <stdin>: {}", std::strerror(error)), {}};
  }
  return Capture::open(file, "<stdin>");
}

constexpr int kStopSignals[] = {SIGINT, SIGTERM, SIGHUP};
static_assert(std::size(kStopSignals) == 3);

// The live capture a signal ends: its handler only calls pcap_breakloop.
std::atomic<Capture*> g_live_capture{nullptr};
static_assert(std::atomic<Capture*>::is_always_lock_free);

extern "C" void stop_live_capture(int) {
  if (Capture* capture = g_live_capture.load()) capture->stop();
}

// While reading a live capture: SIGINT, SIGTERM and SIGHUP end it (the
// command then prints its result); signals the process ignores stay
// ignored. The actions before (RemoveOnSignal's, or the defaults) come back
// at the end.
class StopOnSignal {
 public:
  explicit StopOnSignal(Capture& capture) {
    g_live_capture.store(&capture);
    struct sigaction action {};
    action.sa_handler = stop_live_capture;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < std::size(kStopSignals); ++i) {
      sigaction(kStopSignals[i], nullptr, &old_[i]);
      installed_[i] = old_[i].sa_handler != SIG_IGN;
      if (installed_[i]) sigaction(kStopSignals[i], &action, nullptr);
    }
  }
  ~StopOnSignal() {
    for (std::size_t i = 0; i < std::size(kStopSignals); ++i) {
      if (installed_[i]) sigaction(kStopSignals[i], &old_[i], nullptr);
    }
    g_live_capture.store(nullptr);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  struct sigaction old_[std::size(kStopSignals)] {};
  bool installed_[std::size(kStopSignals)] = {};
};

// The temporary file a signal must not leave behind, stored beforehand: the
// handler may only make async-signal-safe calls.
char g_temporary[4096];
volatile sig_atomic_t g_armed = 0;

extern "C" void remove_temporary_and_die(int signal) {
  if (g_armed) unlink(g_temporary);
  // SA_RESETHAND restored the default action; it kills us on return.
  raise(signal);
}

}  // namespace

RemoveOnSignal::RemoveOnSignal() {
  sigemptyset(&set_);
  for (int s : kStopSignals) sigaddset(&set_, s);
  sigprocmask(SIG_BLOCK, &set_, &old_mask_);
}

bool RemoveOnSignal::arm(const std::string& path) {
  if (path.size() >= sizeof g_temporary) return false;
  std::memcpy(g_temporary, path.c_str(), path.size() + 1);
  g_armed = 1;
  struct sigaction action {};
  action.sa_handler = remove_temporary_and_die;
  action.sa_mask = set_;
  action.sa_flags = SA_RESETHAND;
  for (std::size_t i = 0; i < kSignals; ++i) {
    sigaction(kStopSignals[i], nullptr, &old_actions_[i]);
    installed_[i] = old_actions_[i].sa_handler != SIG_IGN;
    if (installed_[i]) sigaction(kStopSignals[i], &action, nullptr);
  }
  return true;
}

void RemoveOnSignal::block() { sigprocmask(SIG_BLOCK, &set_, nullptr); }
void RemoveOnSignal::unblock() { sigprocmask(SIG_SETMASK, &old_mask_, nullptr); }

void RemoveOnSignal::disarm() {
  block();
  g_armed = 0;
  for (std::size_t i = 0; i < kSignals; ++i) {
    if (installed_[i]) sigaction(kStopSignals[i], &old_actions_[i], nullptr);
    installed_[i] = false;
  }
  unblock();
}

bool KeptRecords::open(const std::string* path, const Capture& like, bool allow_stdout) {
  if (!path) return true;
  path_ = *path;
  guard_.emplace();
  auto created = CaptureWriter::open(*path, like);
  if (!created) {
    print_error(created.error().message);
    guard_.reset();
    return false;
  }
  writer_ = *created;
  to_stdout_ = writer_->to_stdout();
  if (to_stdout_ && !allow_stdout) {
    print_error(fmt::format("-w {} is standard output, where the result goes\n  help: give -w a file", *path));
    writer_.reset();
    guard_.reset();
    return false;
  }
  if (!writer_->temporary().empty() && !guard_->arm(writer_->temporary())) {
    print_error(fmt::format("cannot write {}: {}", *path, std::strerror(ENAMETOOLONG)));
    writer_.reset();
    guard_.reset();
    return false;
  }
  guard_->unblock();
  return true;
}

bool KeptRecords::close() {
  if (!writer_) return true;
  guard_->block();  // no signal between the rename and disarming
  std::string problem;
  bool written = writer_->close(problem);
  guard_->disarm();
  if (!written) print_error(problem);
  return written;
}

void LiveFlags::add_to(CLI::App& app, bool keep_option) {
  app.add_option("-i,--interface", device,
                 "capture live on DEVICE instead of reading a file (root or CAP_NET_RAW): the kernel passes "
                 "only SYNs (SYN+ACKs with --response) to p0fbpf; it ends at -c, --seconds, Ctrl-C or SIGTERM, "
                 "and the result is printed for what was captured, with libpcap's counts of packets received "
                 "and dropped on stderr")
      ->type_name("DEVICE");
  app.add_option("-c,--count", packets, "with -i: stop after N packets")
      ->type_name("N")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40));
  app.add_option("--seconds", seconds, "with -i: stop after N seconds (fractions allowed)")
      ->type_name("N")
      ->check(CLI::Range(0.001, 31.0 * 24 * 3600));
  app.add_option("-B,--buffer-size", buffer_kib,
                 "with -i: the kernel's capture buffer in KiB, as tcpdump -B (default libpcap's, 2 MiB); "
                 "a flood that outruns it is sampled, and the counts say how many packets were dropped")
      ->type_name("KIB")
      ->check(CLI::Range(1, 1 << 21));
  if (keep_option) {
    app.add_option("-w,--write", write,
                   "with -i: keep the packets captured in this pcap file, replaced only once complete")
        ->type_name("FILE");
  }
}

bool LiveFlags::check(const char* command, bool read) const {
  if (read && device) {
    print_error(fmt::format("{} reads one source: -r (a file) or -i (a live capture), not both", command));
    return false;
  }
  if (!read && !device) {
    print_error(fmt::format(
        "{} needs a capture: -r FILE reads a file, -i DEVICE captures live\n  help: p0fbpf {} --help", command,
        command));
    return false;
  }
  if (!device) {
    const char* live_only = packets ? "-c" : seconds ? "--seconds" : buffer_kib ? "--buffer-size" : write ? "-w" : nullptr;
    if (live_only) {
      print_error(fmt::format("{} applies to a live capture (-i DEVICE), not to -r", live_only));
      return false;
    }
  }
  if (write && write->empty()) {
    print_error("-w needs a file name\n  help: -w - writes to standard output");
    return false;
  }
  return true;
}

std::optional<OpenCapture> LiveFlags::open(Direction direction) const {
  LiveOptions options;
  options.device = device.value_or("");
  options.direction = direction;
  options.packets = packets.value_or(0);
  if (seconds) options.duration = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(*seconds * 1000)));
  if (buffer_kib) options.buffer_bytes = *buffer_kib * 1024;
  auto capture = Capture::open_live(options);
  if (!capture) {
    print_error(capture.error().message);
    return std::nullopt;
  }
  // open_live refuses a link type p0fbpf does not read.
  return OpenCapture{*capture, *link_for_capture((*capture)->datalink())};
}

std::string json_capture_stats(const Capture& capture, const RecordsRead& read) {
  if (!capture.live()) return "";
  if (!read.stats) return fmt::format(", \"capture\": {{\"device\": {}}}", json_string(capture.name()));
  return fmt::format(", \"capture\": {{\"device\": {}, \"received\": {}, \"dropped\": {}, "
                     "\"interface_dropped\": {}}}",
                     json_string(capture.name()), read.stats->received, read.stats->dropped,
                     read.stats->interface_dropped);
}

std::string quirks_help() {
  std::string out = "\nQuirks (the seventh field, comma-separated):\n";
  for (const QuirkFacts& quirk : kQuirks) {
    out += fmt::format("  {:<7}  {}{}\n", quirk.name, quirk.help, quirk.loose_only ? " (--loose only)" : "");
  }
  return out;
}

void CompileFlags::add_to(CLI::App& app, const char* negate_help) {
  signature_option = app.add_option("signature", signatures, "p0f signatures, or - to read them from standard input")
                         ->type_name("SIGNATURE");
  app.add_flag("-n,--negate", negate, negate_help);
  app.add_option("-O", optimize, "optimization level: -O1 (default) merges and shares checks, and one branch "
                                 "serves both IP versions where that makes the program fit; -O0 keeps the "
                                 "program as lowered")
      ->type_name("LEVEL")
      ->check(CLI::IsMember({0u, 1u}));
  app.add_flag_callback("--no-optimize", [this] { optimize = 0; }, "the same as -O0");
  app.add_flag("--loose", loose, "check only the fields a signature names, like bpftools");
  app.add_flag("--response", response, "SYN+ACK signatures (p0f.fp [tcp:response]) instead of SYN ones");
}

CompileOptions CompileFlags::options() const {
  CompileOptions options;
  options.mode = loose ? MatchMode::Loose : MatchMode::Exact;
  options.direction = response ? Direction::Response : Direction::Request;
  options.negate = negate;
  options.optimize = optimize != 0;
  return options;
}

void refuse_over_kernel_limit(CompileOptions& options, KernelProgram kind) {
  KernelLimit limit = kernel_limit(kind);
  options.refuse_over = limit.classic_instructions;
  options.refuse_before_checking = true;
  options.refuse_over_reason =
      fmt::format(" for {} ({}: about {} signatures)", limit.program, limit.reason, limit.signatures);
  options.refuse_over_help = "select fewer signatures (--label), or split the selection over several programs";
}

std::optional<std::vector<SignatureSource>> read_signatures(const std::vector<std::string>& arguments) {
  std::vector<SignatureSource> sources;
  for (const std::string& argument : arguments) {
    if (argument != "-") {
      sources.push_back({argument, ""});
      continue;
    }
    // One signature a line; '#' to the end of a line is a comment.
    std::string line;
    int number = 0;
    while (std::getline(std::cin, line)) {
      ++number;
      if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      std::string text = trim(line);
      if (!text.empty()) sources.push_back({text, fmt::format("<stdin>:{}", number)});
    }
  }
  if (sources.empty()) {
    fmt::print(stderr, "p0fbpf: error: no signature given\nRun 'p0fbpf --help' for usage.\n");
    return std::nullopt;
  }
  return sources;
}

bool report(const Compilation& compilation) {
  for (const auto& diagnostic : compilation.diagnostics) fmt::print(stderr, "{}", diagnostic.render());
  return compilation.ok();
}

std::optional<BpfProgram> compile_checked(const std::vector<SignatureSource>& sources, const CompileOptions& options) {
  Compilation compiled = compile(sources, options);
  if (!report(compiled)) return std::nullopt;
  if (!is_valid(*compiled.program)) {
    fmt::print(stderr, "p0fbpf: internal error: libpcap's bpf_validate rejects a program\n");
    return std::nullopt;
  }
  return std::move(*compiled.program);
}

std::optional<OpenCapture> open_capture(const std::string& path) {
  auto capture = path == "-" ? open_stdin() : Capture::open(path);
  if (!capture) {
    fmt::print(stderr, "p0fbpf: error: {}\n", capture.error().message);
    return std::nullopt;
  }
  std::optional<LinkLayer> link = link_for_capture((*capture)->datalink());
  if (!link) {
    fmt::print(stderr,
               "p0fbpf: error: {}: link type {} is not supported\n"
               "  help: p0fbpf reads Ethernet, raw IP, Linux cooked (SLL and SLL2) and BSD loopback captures\n",
               (*capture)->name(), (*capture)->datalink_name());
    return std::nullopt;
  }
  return OpenCapture{*capture, *link};
}

namespace {

// The end of a live capture on stderr: what was captured and libpcap's counts.
void report_live(const Capture& capture, const RecordsRead& read, std::chrono::steady_clock::duration elapsed) {
  double seconds = std::chrono::duration<double>(elapsed).count();
  std::string name = printable(capture.name());
  if (!read.stats) {
    fmt::print(stderr, "p0fbpf: {}: {} packets captured in {:.1f} s (libpcap has no counts of drops)\n", name,
               read.records, seconds);
    return;
  }
  const CaptureStats& s = *read.stats;
  fmt::print(stderr,
             "p0fbpf: {}: {} packets captured in {:.1f} s; libpcap: {} received by the filter, {} dropped by the "
             "kernel, {} dropped by the interface\n",
             name, read.records, seconds, s.received, s.dropped, s.interface_dropped);
  if (s.dropped || s.interface_dropped) {
    fmt::print(stderr,
               "p0fbpf: warning: {}: {} packets were dropped: the result is a sample of what arrived\n"
               "  help: a larger --buffer-size (KiB) keeps more of a flood\n",
               name, s.dropped + s.interface_dropped);
  }
}

}  // namespace

std::optional<RecordsRead> read_records(Capture& capture, const char* activity, const char* done,
                                        const std::function<void(const CaptureRecord&)>& visit) {
  CaptureRead result;
  const auto start = std::chrono::steady_clock::now();
  {
    std::string live_activity = fmt::format("capturing on {}:", printable(capture.name()));
    Progress progress(capture.live() ? live_activity.c_str() : activity);
    std::size_t seen = 0;
    const bool live = capture.live();  // its line is by time, not by count
    auto each = [&](const CaptureRecord& record) {
      visit(record);
      if (!live) progress.tick(++seen);
    };
    if (capture.live()) {
      StopOnSignal stop(capture);
      result = capture.read(each, [&](std::size_t records) {
        progress.live(records, std::chrono::steady_clock::now() - start);
      });
    } else {
      result = capture.read(each);
    }
  }
  RecordsRead read;
  read.records = result.records;
  if (capture.live()) {
    read.stats = capture.stats();
    report_live(capture, read, std::chrono::steady_clock::now() - start);
  }
  switch (result.end) {
    case CaptureRead::End::Complete:
    case CaptureRead::End::Stopped:
    case CaptureRead::End::Enough: return read;
    case CaptureRead::End::Failed:
      print_error(fmt::format("{}; the result is for the {} packets captured before it", result.problem,
                              result.records));
      read.failed = true;
      return read;
    case CaptureRead::End::Unsupported:
      // Not damage: the rest of the capture is there, unread.
      fmt::print(stderr,
                 "p0fbpf: error: {}\n"
                 "  help: libpcap reads a pcapng only if all its interfaces have one link type and one "
                 "snapshot length; save each interface's packets to a capture of its own first\n",
                 result.problem);
      return std::nullopt;
    case CaptureRead::End::Damaged:
      if (result.records == 0) {
        // Nothing was read: "0 of 0" would pass for an empty capture.
        fmt::print(stderr, "p0fbpf: error: {}\n", result.problem);
        return std::nullopt;
      }
      fmt::print(stderr, "p0fbpf: warning: {}; the {} records before it were {}\n", result.problem,
                 result.records, done);
      return read;
  }
  return std::nullopt;
}

std::string printable_lines(std::string_view text) {
  std::string out;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out += printable(text.substr(start, end - start));
    if (end < text.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

void print_error(std::string_view message) { fmt::print(stderr, "p0fbpf: error: {}\n", printable_lines(message)); }

std::unique_ptr<SystemLock> take_system_lock() {
  // Longer than the slowest run it may wait for: the kernel's verifier
  // takes up to about 90 s for an XDP program of 1,000 signatures.
  static constexpr int kPatienceSeconds = 300;
  auto lock = std::make_unique<SystemLock>(kSystemLockPath, std::chrono::seconds(kPatienceSeconds), [] {
    fmt::print(stderr, "p0fbpf: waiting (at most {} s) for another p0fbpf run to finish (lock {})\n",
               kPatienceSeconds, kSystemLockPath);
  });
  if (lock->failed()) {
    print_error(lock->error());
    return nullptr;
  }
  return lock;
}

bool write_stdout(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0) return true;
  fmt::print(stderr, "p0fbpf: error: cannot write standard output: {}\n", std::strerror(errno));
  return false;
}

bool close_stdout(bool report) {
  errno = 0;
  bool flushed = std::fflush(stdout) == 0;
  bool clean = std::ferror(stdout) == 0;
  int error = errno;
  bool closed = std::fclose(stdout) == 0;
  if (!error) error = errno;
  if (flushed && clean && closed) return true;
  if (report) fmt::print(stderr, "p0fbpf: error: cannot write standard output{}{}\n", error ? ": " : "",
             error ? std::strerror(error) : "");
  return false;
}

bool Progress::on_terminal() { return isatty(STDERR_FILENO) != 0; }

Progress::Progress(const char* what) : what_(what), enabled_(on_terminal()) {}

Progress::~Progress() {
  if (shown_) fmt::print(stderr, "\r\033[K");
}

void Progress::live(std::size_t done, std::chrono::steady_clock::duration elapsed) {
  if (!enabled_ || (shown_ && elapsed - last_ < std::chrono::milliseconds(200))) return;
  last_ = elapsed;
  fmt::print(stderr, "\r\033[K{} {} packets, {:.1f} s (Ctrl-C ends it)", what_, done,
             std::chrono::duration<double>(elapsed).count());
  shown_ = true;
}

void Progress::show(std::size_t done) {
  fmt::print(stderr, "\r{} {} packets...", what_, done);
  shown_ = true;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += {'\\', c};
    else if (byte < 0x20 || byte >= 0x7f) out += fmt::format("\\u{:04x}", byte);
    else out += c;
  }
  return out + "\"";
}

}  // namespace p0fbpf::cli
