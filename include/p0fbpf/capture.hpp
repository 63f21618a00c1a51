// Reading and writing pcap captures with libpcap, and finding the IP header
// in their frames.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

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
  };
  std::size_t records = 0;  // read (and visited) before the end
  End end = End::Complete;
  std::string problem;  // for Damaged and Unsupported: what, naming the file
};

class Capture {
 public:
  // Opens a pcap or pcapng file; fails with a message naming the file.
  static Result<std::shared_ptr<Capture>> open(const std::string& path);
  // Reads an open stream (taking it over, and giving it a buffer: nothing
  // may have been read from it yet); `name` is for messages.
  static Result<std::shared_ptr<Capture>> open(FILE* file, const std::string& name);
  ~Capture();

  int datalink() const;
  std::string datalink_name() const;
  // The stream the capture is read from.
  FILE* file() const;
  // The size of the file read, if it is a regular file.
  std::optional<std::uint64_t> file_size() const;
  const std::string& name() const { return path_; }

  // Calls `visit` for every record, until the end of the capture, a record
  // that cannot be read, or stop() (called from `visit`).
  CaptureRead read(const std::function<void(const CaptureRecord&)>& visit);
  // The same, returning the number read; a damaged or unreadable record ends
  // it and is described in `problem` (the records before it count).
  std::size_t for_each(const std::function<void(const CaptureRecord&)>& visit, std::string& problem);
  // Makes read() return after the record being visited.
  void stop();

 private:
  friend class CaptureWriter;  // writes through the capture's handle
  Capture(pcap* handle, std::string path, std::unique_ptr<char[]> buffer)
      : buffer_(std::move(buffer)), pcap_(handle), path_(std::move(path)) {}
  std::unique_ptr<char[]> buffer_;  // the stream's; outlives pcap_close, which closes the stream
  pcap* pcap_;
  std::string path_;
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
