#include "p0fbpf/capture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <pcap/pcap.h>

#include "base/big_endian.hpp"

namespace p0fbpf {
namespace {

// Few read(2) calls, and small enough to stay in the cache: a 1 MiB buffer
// made fingerprinting slower, each refill evicting the signature table.
constexpr std::size_t kBufferSize = 1 << 16;
constexpr int kDltIpv4 = 228;  // DLT_IPV4, missing from older headers
constexpr int kDltIpv6 = 229;
constexpr int kDltLinuxSll2 = 276;  // DLT_LINUX_SLL2: tcpdump -i any, libpcap >= 1.10

Diagnostic file_error(std::string message) {
  return Diagnostic{Severity::Error, {}, std::move(message), {}};
}

bool is_ip_type(std::uint16_t type) { return type == 0x0800 || type == 0x86dd; }

// Whole packets: p0f reads the IP length and skips a packet cut short, so
// a SYN with data (TCP Fast Open) must arrive whole to be fingerprinted as
// it is from a file that tcpdump wrote.
constexpr int kLiveSnapLength = 65535;
// How long the kernel may hold packets before handing them over, and how
// long a live capture waits between looks at its deadline and stop().
constexpr int kLiveTimeoutMs = 100;

}  // namespace

bool valid_device_name(std::string_view name) {
  constexpr std::size_t kMaxName = 15;  // IFNAMSIZ - 1
  if (name.empty() || name.size() > kMaxName || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7f && c != '/' && c != ':';
  });
}

std::string live_filter(Direction direction, bool vlan) {
  // p0f reads IPv4 without fragments and IPv6 whose next header is TCP;
  // libpcap's tcp[] reads IPv4 only, so IPv6 is read at its fixed offsets.
  const char* flags = direction == Direction::Request ? "tcp-syn" : "tcp-syn|tcp-ack";
  const char* flags6 = direction == Direction::Request ? "0x02" : "0x12";
  std::string syns = fmt::format(
      "(ip and tcp[tcpflags] & (tcp-syn|tcp-ack) == ({})) or (ip6 and ip6[6] == 6 and ip6[53] & 0x12 == {})", flags,
      flags6);
  // "vlan" moves the offsets of what follows it: last.
  return vlan ? fmt::format("{} or (vlan and ({}))", syns, syns) : syns;
}

std::optional<LinkLayer> link_for_capture(int datalink) {
  switch (datalink) {
    case DLT_EN10MB: return LinkLayer{LinkType::Ethernet, 0};
    case DLT_RAW:
    case kDltIpv4:
    case kDltIpv6: return LinkLayer{LinkType::Raw, 0};
    case DLT_LINUX_SLL: return LinkLayer{LinkType::LinuxCooked, 0};
    case kDltLinuxSll2: return LinkLayer{LinkType::LinuxCooked2, 0};
    case DLT_NULL:
    case DLT_LOOP: return LinkLayer{LinkType::Loopback, 0};
    default: return std::nullopt;
  }
}

std::optional<std::size_t> ip_offset(LinkType link, const std::uint8_t* frame, std::size_t length) {
  switch (link) {
    case LinkType::Raw: return 0;
    case LinkType::Ethernet:
      if (length >= 14 && is_ip_type(be16(frame + 12))) return 14;
      if (length >= 18 && be16(frame + 12) == 0x8100 && is_ip_type(be16(frame + 16))) return 18;
      return std::nullopt;
    case LinkType::LinuxCooked:
      if (length >= 16 && is_ip_type(be16(frame + 14))) return 16;
      return std::nullopt;
    case LinkType::LinuxCooked2:
      // The protocol type leads the 20-byte header.
      if (length >= 20 && is_ip_type(be16(frame))) return 20;
      return std::nullopt;
    case LinkType::Loopback:
      if (length >= 4) return 4;
      return std::nullopt;
  }
  return std::nullopt;
}

Result<std::shared_ptr<Capture>> Capture::open(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return file_error(fmt::format("cannot read capture {}: {}", path, std::strerror(errno)));
  return open(file, path);
}

Result<std::shared_ptr<Capture>> Capture::open(FILE* file, const std::string& name) {
  // A buffer of our own: reading is most of the work, and glibc ignores
  // setvbuf's size when not given the buffer (it reads 4 KiB a call).
  auto buffer = std::make_unique_for_overwrite<char[]>(kBufferSize);
  std::setvbuf(file, buffer.get(), _IOFBF, kBufferSize);
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_fopen_offline(file, error);
  if (!pcap) {
    std::fclose(file);
    return file_error(fmt::format("cannot read capture {}: {}", name, error));
  }
  return std::shared_ptr<Capture>(new Capture(pcap, name, std::move(buffer)));
}

Result<std::shared_ptr<Capture>> Capture::open_live(const LiveOptions& options) {
  if (!valid_device_name(options.device)) {
    return file_error(fmt::format(
        "cannot capture on {}: not a device name\n  help: a device name is 1 to 15 printable characters, "
        "without '/', ':' or spaces ('ip link' lists the devices)",
        quoted(options.device)));
  }
  const std::string& device = options.device;
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_create(device.c_str(), error);
  if (!pcap) return file_error(fmt::format("cannot capture on {}: {}", device, error));
  auto fail = [&](std::string message) {
    pcap_close(pcap);
    return file_error(std::move(message));
  };
  if (pcap_set_snaplen(pcap, kLiveSnapLength) != 0 || pcap_set_timeout(pcap, kLiveTimeoutMs) != 0 ||
      (options.buffer_bytes > 0 && pcap_set_buffer_size(pcap, options.buffer_bytes) != 0)) {
    return fail(fmt::format("cannot capture on {}: {}", device, pcap_geterr(pcap)));
  }
  int status = pcap_activate(pcap);
  if (status < 0) {
    std::string detail = pcap_geterr(pcap);
    if (detail.empty()) detail = pcap_statustostr(status);
    switch (status) {
      case PCAP_ERROR_PERM_DENIED:
        return fail(fmt::format("cannot capture on {}: permission denied ({})\n  help: a live capture needs root or "
                                "the CAP_NET_RAW capability",
                                device, detail));
      case PCAP_ERROR_NO_SUCH_DEVICE:
        return fail(fmt::format("cannot capture on {}: no such device ({})\n  help: 'ip link' lists the devices",
                                device, detail));
      case PCAP_ERROR_IFACE_NOT_UP:
        return fail(fmt::format("cannot capture on {}: the device is not up", device));
      default: return fail(fmt::format("cannot capture on {}: {}", device, detail));
    }
  }
  const int datalink = pcap_datalink(pcap);
  if (!link_for_capture(datalink)) {
    const char* name = pcap_datalink_val_to_name(datalink);
    return fail(fmt::format("cannot capture on {}: link type {} is not supported\n  help: p0fbpf reads Ethernet, "
                            "raw IP, Linux cooked (SLL and SLL2) and BSD loopback frames",
                            device, name ? std::string(name) : fmt::format("DLT {}", datalink)));
  }
  bpf_program filter{};
  std::string text = live_filter(options.direction, datalink == DLT_EN10MB);
  if (pcap_compile(pcap, &filter, text.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    return fail(fmt::format("cannot capture on {}: the filter '{}': {}", device, text, pcap_geterr(pcap)));
  }
  int set = pcap_setfilter(pcap, &filter);
  pcap_freecode(&filter);
  if (set != 0) return fail(fmt::format("cannot capture on {}: cannot set the filter: {}", device, pcap_geterr(pcap)));
  if (pcap_setnonblock(pcap, 1, error) != 0 || pcap_get_selectable_fd(pcap) < 0) {
    return fail(fmt::format("cannot capture on {}: {}", device, error));
  }
  // Until the filter was set, the socket took every frame on the device,
  // and the kernel counted them as received (libpcap discards them): the
  // counts start here, where the capture listens with its filter (from 0
  // where libpcap cannot tell them yet).
  pcap_stat at_start{};
  std::shared_ptr<Capture> capture(new Capture(pcap, device, nullptr));
  capture->live_ = options;
  if (pcap_stats(pcap, &at_start) == 0) {
    capture->at_start_ = CaptureStats{at_start.ps_recv, at_start.ps_drop, at_start.ps_ifdrop};
  }
  return capture;
}

std::optional<CaptureStats> Capture::stats() const {
  if (!live_) return std::nullopt;
  pcap_stat counts{};
  if (pcap_stats(pcap_, &counts) != 0) return std::nullopt;
  // libpcap's counters are unsigned ints that wrap: their differences too.
  auto since = [](u_int now, std::uint64_t then) { return static_cast<u_int>(now - static_cast<u_int>(then)); };
  return CaptureStats{since(counts.ps_recv, at_start_.received), since(counts.ps_drop, at_start_.dropped),
                      since(counts.ps_ifdrop, at_start_.interface_dropped)};
}

std::optional<std::uint64_t> Capture::file_size() const {
  struct stat status {};
  if (live_) return std::nullopt;
  if (::fstat(fileno(pcap_file(pcap_)), &status) != 0 || !S_ISREG(status.st_mode)) return std::nullopt;
  return static_cast<std::uint64_t>(status.st_size);
}

Capture::~Capture() { pcap_close(pcap_); }

std::size_t CaptureRecord::length() const { return std::min<std::size_t>(header->caplen, header->len); }

FILE* Capture::file() const { return live_ ? nullptr : pcap_file(pcap_); }

void Capture::stop() {
  stop_requested_ = 1;
  pcap_breakloop(pcap_);
}

int Capture::datalink() const { return pcap_datalink(pcap_); }

std::string Capture::datalink_name() const {
  const char* name = pcap_datalink_val_to_name(datalink());
  return name ? name : fmt::format("DLT {}", datalink());
}

CaptureRead Capture::read(const std::function<void(const CaptureRecord&)>& visit,
                          const std::function<void(std::size_t)>& waited) {
  if (live_) return read_live(visit, waited);
  struct Context {
    const std::function<void(const CaptureRecord&)>* visit;
    std::size_t count;
  } context{&visit, 0};
  // pcap_loop rather than pcap_next_ex: it hands over records without a
  // call and a copy of the header each.
  int rc = pcap_loop(
      pcap_, -1,
      [](u_char* user, const pcap_pkthdr* header, const u_char* data) {
        auto* c = reinterpret_cast<Context*>(user);
        (*c->visit)(CaptureRecord{header, data});
        ++c->count;
      },
      reinterpret_cast<u_char*>(&context));
  CaptureRead result;
  result.records = context.count;
  if (rc == PCAP_ERROR_BREAK) {
    result.end = CaptureRead::End::Stopped;
  } else if (rc == PCAP_ERROR) {
    std::string error = pcap_geterr(pcap_);
    // libpcap keeps one link type and snapshot length per capture, and
    // stops at a pcapng interface (IDB) whose differ from the first one's.
    bool link_type = error.find("different from the type of the first interface") != std::string::npos;
    bool snapshot = error.find("different from the snapshot length of the first interface") != std::string::npos;
    if (link_type || snapshot) {
      result.end = CaptureRead::End::Unsupported;
      result.problem =
          fmt::format("{}: its interfaces have different {}, which libpcap cannot read; it stopped before record {}: {}",
                      path_, link_type ? "link types" : "snapshot lengths", context.count + 1, error);
    } else {
      result.end = CaptureRead::End::Damaged;
      result.problem = fmt::format("{}: record {} is damaged: {}", path_, context.count + 1, error);
    }
  }
  return result;
}

CaptureRead Capture::read_live(const std::function<void(const CaptureRecord&)>& visit,
                               const std::function<void(std::size_t)>& waited) {
  struct Context {
    const std::function<void(const CaptureRecord&)>* visit;
    std::size_t count;
  } context{&visit, 0};
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const std::size_t limit = live_->packets;
  // libpcap's own wait (TPACKET_V3) sleeps until packets come, whatever the
  // timeout: the wait is ours, in poll(2), bounded by the deadline; libpcap
  // only hands over what is there.
  const int fd = pcap_get_selectable_fd(pcap_);
  CaptureRead result;
  auto finish = [&](CaptureRead::End end) {
    result.end = end;
    result.records = context.count;
    return result;
  };
  for (;;) {
    if (stop_requested_) return finish(CaptureRead::End::Stopped);
    auto wait = std::chrono::milliseconds(kLiveTimeoutMs);
    if (live_->duration) {
      auto left = *live_->duration - std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      if (left <= std::chrono::milliseconds(0)) return finish(CaptureRead::End::Enough);
      wait = std::min(wait, left);
    }
    // libpcap may need a call after a bounded wait whether or not the
    // descriptor is ready: when the socket reports ENETDOWN it only notes it
    // and checks the device on a later call ("the interface disappeared").
    const timeval* required = pcap_get_required_select_timeout(pcap_);
    if (required) {
      auto most = std::chrono::milliseconds(required->tv_sec * 1000 + (required->tv_usec + 999) / 1000);
      wait = std::min(wait, std::max(most, std::chrono::milliseconds(1)));
    }
    pollfd ready{fd, POLLIN, 0};
    int polled = ::poll(&ready, 1, static_cast<int>(wait.count()));
    if (polled < 0 && errno != EINTR) {
      result.problem = fmt::format("{}: the capture failed after {} packets: poll: {}", path_, context.count,
                                   std::strerror(errno));
      return finish(CaptureRead::End::Failed);
    }
    if (stop_requested_) return finish(CaptureRead::End::Stopped);
    // Never more than the count asks for: pcap_dispatch stops at `want`.
    int want = limit ? static_cast<int>(std::min<std::size_t>(limit - context.count, INT_MAX)) : -1;
    int rc = polled > 0 || required ? pcap_dispatch(
                              pcap_, want,
                              [](u_char* user, const pcap_pkthdr* header, const u_char* data) {
                                auto* c = reinterpret_cast<Context*>(user);
                                (*c->visit)(CaptureRecord{header, data});
                                ++c->count;
                              },
                              reinterpret_cast<u_char*>(&context))
                        : 0;
    if (rc == PCAP_ERROR_BREAK) return finish(CaptureRead::End::Stopped);
    if (rc < 0) {
      result.problem = fmt::format("{}: the capture failed after {} packets: {}", path_, context.count,
                                   pcap_geterr(pcap_));
      return finish(CaptureRead::End::Failed);
    }
    if (waited) waited(context.count);
    if (limit && context.count >= limit) return finish(CaptureRead::End::Enough);
  }
}

std::size_t Capture::for_each(const std::function<void(const CaptureRecord&)>& visit, std::string& problem) {
  CaptureRead result = read(visit);
  problem = result.problem;
  return result.records;
}

namespace {

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// The mode a file created by open(O_CREAT, 0666) would get.
mode_t new_file_mode() {
  mode_t mask = umask(0);
  umask(mask);
  return 0666 & ~mask;
}

}  // namespace

Result<std::shared_ptr<CaptureWriter>> CaptureWriter::open(const std::string& path, const Capture& like) {
  auto cannot = [&](int error) { return file_error(fmt::format("cannot write {}: {}", path, std::strerror(error))); };
  if (path.empty()) return file_error("cannot write a capture to an empty file name");
  std::shared_ptr<CaptureWriter> writer(new CaptureWriter());
  writer->path_ = path;

  struct stat target {};
  bool exists = ::stat(path.c_str(), &target) == 0;
  struct stat out {};
  if (path == "-" || (exists && ::fstat(STDOUT_FILENO, &out) == 0 && same_file(target, out))) {
    writer->to_stdout_ = true;
    writer->fd_ = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
  } else if (exists && !S_ISREG(target.st_mode)) {
    writer->fd_ = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  } else {
    // Through a symbolic link, the file it names is the one replaced.
    writer->target_ = path;
    if (exists) {
      if (char* real = ::realpath(path.c_str(), nullptr)) {
        writer->target_ = real;
        std::free(real);
      }
    }
    auto slash = writer->target_.rfind('/');
    std::string dir = slash == std::string::npos ? "" : writer->target_.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? writer->target_ : writer->target_.substr(slash + 1);
    std::string name = dir + "." + base + ".p0fbpf-XXXXXX";
    writer->fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (writer->fd_ >= 0) {
      writer->temporary_ = name;
      // mkstemp's 0600 would make a private file of what open() would not.
      if (::fchmod(writer->fd_, exists ? (target.st_mode & 07777) : new_file_mode()) != 0) return cannot(errno);
    }
  }
  if (writer->fd_ < 0) return cannot(errno);

  int copy = ::fcntl(writer->fd_, F_DUPFD_CLOEXEC, 0);
  FILE* file = copy < 0 ? nullptr : ::fdopen(copy, "wb");
  if (!file) {
    int error = errno;
    if (copy >= 0) ::close(copy);
    return cannot(error);
  }
  // As for reading: glibc takes setvbuf's size only with the buffer.
  writer->buffer_ = std::make_unique_for_overwrite<char[]>(kBufferSize);
  std::setvbuf(file, writer->buffer_.get(), _IOFBF, kBufferSize);
  writer->dumper_ = pcap_dump_fopen(like.pcap_, file);
  if (!writer->dumper_) {
    std::fclose(file);
    return file_error(fmt::format("cannot write {}: {}", path, pcap_geterr(like.pcap_)));
  }
  // The file header is in the buffer; a failure to write it shows later.
  return writer;
}

CaptureWriter::~CaptureWriter() {
  if (dumper_) pcap_dump_close(dumper_);
  if (fd_ >= 0) ::close(fd_);
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
}

void CaptureWriter::fail(int error) {
  if (error_ == 0) error_ = error != 0 ? error : EIO;
}

bool CaptureWriter::write(const CaptureRecord& record) {
  if (error_ != 0) return false;
  errno = 0;
  pcap_dump(reinterpret_cast<u_char*>(dumper_), record.header, record.data);
  // pcap_dump says nothing: a failed write shows in the stream's error flag.
  if (std::ferror(pcap_dump_file(dumper_))) fail(errno);
  return error_ == 0;
}

bool CaptureWriter::close(std::string& problem) {
  if (dumper_) {
    if (error_ == 0 && pcap_dump_flush(dumper_) != 0) fail(errno);
    if (error_ == 0 && std::ferror(pcap_dump_file(dumper_))) fail(EIO);
    // Closes libpcap's duplicate; ours is the last, whose close counts.
    pcap_dump_close(dumper_);
    dumper_ = nullptr;
  }
  if (fd_ >= 0) {
    if (error_ == 0 && !temporary_.empty() && ::fsync(fd_) != 0) fail(errno);
    if (::close(fd_) != 0) fail(errno);
    fd_ = -1;
  }
  if (error_ == 0 && !temporary_.empty()) {
    if (::rename(temporary_.c_str(), target_.c_str()) != 0) {
      fail(errno);
    } else {
      temporary_.clear();
    }
  }
  if (error_ != 0) {
    if (!temporary_.empty()) ::unlink(temporary_.c_str());
    temporary_.clear();
    problem = fmt::format("cannot write {}: {}", path_, std::strerror(error_));
    return false;
  }
  return true;
}

}  // namespace p0fbpf
