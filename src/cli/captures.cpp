// What the commands that read captures share: opening a file, standard
// input or a live device (-i, with -c, --seconds, -B and the signals that
// end it), reading the records with progress and libpcap's counts, and
// keeping records in a file (-w) that a signal does not leave half-written.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/diagnostic.hpp"

namespace p0fbpf::cli {
namespace {

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
  // As tcpdump says it: from here on, packets are captured.
  fmt::print(stderr, "p0fbpf: listening on {}, link-type {}, {} only\n", printable((*capture)->name()),
             (*capture)->datalink_name(), direction == Direction::Response ? "SYN+ACKs" : "SYNs");
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

}  // namespace p0fbpf::cli
