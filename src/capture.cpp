#include "p0fbpf/capture.hpp"

#include <fmt/format.h>

namespace p0fbpf {
namespace {

constexpr int kDltIpv4 = 228;  // DLT_IPV4, missing from older headers
constexpr int kDltIpv6 = 229;

Diagnostic file_error(std::string message) {
  return Diagnostic{Severity::Error, {}, std::move(message), {}};
}

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

bool is_ip_type(std::uint16_t type) { return type == 0x0800 || type == 0x86dd; }

}  // namespace

std::optional<LinkLayer> link_for_capture(int datalink) {
  switch (datalink) {
    case DLT_EN10MB: return LinkLayer{LinkType::Ethernet, 0};
    case DLT_RAW:
    case kDltIpv4:
    case kDltIpv6: return LinkLayer{LinkType::Raw, 0};
    case DLT_LINUX_SLL: return LinkLayer{LinkType::LinuxCooked, 0};
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
    case LinkType::Loopback:
      if (length >= 4) return 4;
      return std::nullopt;
  }
  return std::nullopt;
}

Result<std::shared_ptr<Capture>> Capture::open(const std::string& path) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_open_offline(path.c_str(), error);
  if (!pcap) return file_error(fmt::format("cannot read capture {}: {}", path, error));
  return std::shared_ptr<Capture>(new Capture(pcap, path));
}

Capture::~Capture() { pcap_close(pcap_); }

int Capture::datalink() const { return pcap_datalink(pcap_); }

std::string Capture::datalink_name() const {
  const char* name = pcap_datalink_val_to_name(datalink());
  return name ? name : fmt::format("DLT {}", datalink());
}

std::size_t Capture::for_each(const std::function<void(const CaptureRecord&)>& visit, std::string& problem) {
  std::size_t count = 0;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (true) {
    int rc = pcap_next_ex(pcap_, &header, &data);
    if (rc == 1) {
      visit(CaptureRecord{header, data});
      ++count;
    } else if (rc == PCAP_ERROR_BREAK) {
      return count;
    } else {
      problem = fmt::format("{}: record {} is damaged: {}", path_, count + 1, pcap_geterr(pcap_));
      return count;
    }
  }
}

Result<std::shared_ptr<CaptureWriter>> CaptureWriter::open(const std::string& path, const Capture& like) {
  pcap_dumper_t* dumper = pcap_dump_open(like.handle(), path.c_str());
  if (!dumper) return file_error(fmt::format("cannot write {}: {}", path, pcap_geterr(like.handle())));
  return std::shared_ptr<CaptureWriter>(new CaptureWriter(dumper, path));
}

CaptureWriter::~CaptureWriter() {
  if (dumper_) pcap_dump_close(dumper_);
}

void CaptureWriter::write(const CaptureRecord& record) {
  pcap_dump(reinterpret_cast<u_char*>(dumper_), record.header, record.data);
}

bool CaptureWriter::close(std::string& problem) {
  bool ok = pcap_dump_flush(dumper_) == 0;
  pcap_dump_close(dumper_);
  dumper_ = nullptr;
  if (!ok) problem = fmt::format("cannot write {}", path_);
  return ok;
}

}  // namespace p0fbpf
