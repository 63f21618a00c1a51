// Reading and writing pcap captures with libpcap, capturing live from a
// device, and finding the IP header in their frames.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/types.hpp"

// libpcap's handles, declared here so that including this header does not
// pull in <pcap/pcap.h>.
struct pcap;
struct pcap_dumper;
struct pcap_pkthdr;

namespace p0fbpf {

// The link layer programs must be compiled for to read a capture of this
// DLT_ type; nullopt if p0fbpf does not read it.
std::optional<LinkLayer> link_for_capture(int datalink);

// Where the IP header starts in a frame of that link layer, after the
// checks p0f's own capture filter makes ("tcp or (vlan and tcp)"): nullopt
// for a frame that carries no IPv4/IPv6.
std::optional<std::size_t> ip_offset(LinkType link, const std::uint8_t* frame, std::size_t length);

struct CaptureRecord {
  const pcap_pkthdr* header;
  const std::uint8_t* data;
  // What p0f sees of the packet: the bytes captured, never more than its
  // length on the wire.
  std::size_t length() const;
};

// How reading a capture ended.
struct CaptureRead {
  enum class End {
    Complete,     // every record was read
    Stopped,      // stop() was called
    Damaged,      // a record could not be read
    Unsupported,  // a pcapng whose interfaces differ in link type or snapshot
                  // length, which libpcap does not read past the first
    Failed,       // a live capture failed (its device went away)
    Enough,       // a live capture reached its packet count or its time
  };
  std::size_t records = 0;  // read (and visited) before the end
  End end = End::Complete;
  std::string problem;  // for Damaged, Unsupported and Failed: what, naming the file or device
};

// What a live capture is to capture, and for how long.
struct LiveOptions {
  std::string device;  // checked with valid_device_name()
  // The kernel passes only SYNs without ACK (Request) or SYN+ACKs
  // (Response), over IPv4 and IPv6, also behind one VLAN tag on Ethernet.
  Direction direction = Direction::Request;
  std::size_t packets = 0;  // stop after this many records (0: no limit)
  std::optional<std::chrono::milliseconds> duration;  // stop after this long
  int buffer_bytes = 0;     // the kernel's capture buffer (0: libpcap's default)
};

// libpcap's counts for a live capture (pcap_stats), from the moment its
// filter was set.
struct CaptureStats {
  std::uint64_t received = 0;           // passed the filter, kept or not
  std::uint64_t dropped = 0;            // of those, lost: the buffer was full
  std::uint64_t interface_dropped = 0;  // lost by the device or its driver
};

// Whether `name` can be a Linux network device's name (or "any"): 1 to 15
// printable ASCII bytes, none of them '/', ':' or a space, and not "." or
// "..". A name that is not is refused before libpcap sees it.
bool valid_device_name(std::string_view name);

// The kernel filter of a live capture, in libpcap's syntax: SYNs without
// ACK, or SYN+ACKs; `vlan` adds the same behind an 802.1Q tag (Ethernet).
std::string live_filter(Direction direction, bool vlan);

class Capture {
 public:
  // Opens a pcap or pcapng file; fails with a message naming the file.
  static Result<std::shared_ptr<Capture>> open(const std::string& path);
  // Reads an open stream (taking it over, and giving it a buffer: nothing
  // may have been read from it yet); `name` is for messages.
  static Result<std::shared_ptr<Capture>> open(FILE* file, const std::string& name);
  // Captures live from a device (root or CAP_NET_RAW) with the kernel
  // filter of live_filter(), whole packets; fails with a message naming the
  // device (and, without the privilege, saying what is needed).
  static Result<std::shared_ptr<Capture>> open_live(const LiveOptions& options);
  ~Capture();

  bool live() const { return live_.has_value(); }
  // libpcap's counts so far, for a live capture (nullopt for a file, or
  // when libpcap cannot tell).
  std::optional<CaptureStats> stats() const;

  int datalink() const;
  std::string datalink_name() const;
  // The stream the capture is read from (null for a live capture).
  FILE* file() const;
  // The size of the file read, if it is a regular file.
  std::optional<std::uint64_t> file_size() const;
  const std::string& name() const { return path_; }

  // Calls `visit` for every record, until the end of the capture, a record
  // that cannot be read, or stop() (called from `visit`, or from a signal
  // handler: it only calls pcap_breakloop). A live capture ends at stop(),
  // at its packet count or time (End::Enough), or when the device fails;
  // `waited`, if given, is called with the records so far after each batch
  // the kernel hands over, and at least every 100 ms (for progress).
  CaptureRead read(const std::function<void(const CaptureRecord&)>& visit,
                   const std::function<void(std::size_t)>& waited = {});
  // The same, returning the number read; a damaged or unreadable record ends
  // it and is described in `problem` (the records before it count).
  std::size_t for_each(const std::function<void(const CaptureRecord&)>& visit, std::string& problem);
  // Makes read() return after the record being visited.
  void stop();

 private:
  friend class CaptureWriter;  // writes through the capture's handle
  Capture(pcap* handle, std::string path, std::unique_ptr<char[]> buffer)
      : buffer_(std::move(buffer)), pcap_(handle), path_(std::move(path)) {}
  CaptureRead read_live(const std::function<void(const CaptureRecord&)>& visit,
                        const std::function<void(std::size_t)>& waited);
  std::unique_ptr<char[]> buffer_;  // the stream's; outlives pcap_close, which closes the stream
  pcap* pcap_;
  std::string path_;  // or the device's name, printable
  std::optional<LiveOptions> live_;
  CaptureStats at_start_;  // a live capture's counts when its filter was set; stats() counts from there
  volatile sig_atomic_t stop_requested_ = 0;  // stop() was called (a live capture's reading sees it)
};

// Writes records to a pcap file of the same link type as `like`.
//
// A new or regular file is written to a temporary file next to it
// (".NAME.p0fbpf-XXXXXX"), which close() renames over it: until then, and
// whenever writing fails, the file is left as it was. A path that exists and
// is not a regular file (a device, a FIFO) is written directly. "-", or a
// path that is standard output's file (/dev/stdout), writes to standard
// output through a duplicate of its descriptor: stdout itself stays open.
class CaptureWriter {
 public:
  static Result<std::shared_ptr<CaptureWriter>> open(const std::string& path, const Capture& like);
  // Without a successful close(): removes the temporary file.
  ~CaptureWriter();
  // False once writing has failed (close() then says why): stop writing.
  bool write(const CaptureRecord& record);
  // Flushes and closes the file and, for a temporary file, syncs it and
  // renames it over the target. False (with "cannot write PATH: reason") if
  // any write, the flush, the sync, the close or the rename failed; the
  // temporary file is removed then.
  bool close(std::string& problem);

  // The temporary file being written, or empty when writing directly.
  const std::string& temporary() const { return temporary_; }
  // Whether the records go to standard output.
  bool to_stdout() const { return to_stdout_; }

 private:
  CaptureWriter() = default;
  void fail(int error);
  std::unique_ptr<char[]> buffer_;  // the stream's; outlives pcap_dump_close, which closes the stream
  pcap_dumper* dumper_ = nullptr;
  int fd_ = -1;             // ours; libpcap writes through a duplicate
  std::string path_;        // as given, for messages
  std::string target_;      // what the temporary file replaces
  std::string temporary_;
  bool to_stdout_ = false;
  int error_ = 0;           // errno of the first failure
};

}  // namespace p0fbpf
