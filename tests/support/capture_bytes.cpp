#include "capture_bytes.hpp"

#include <pcap/pcap.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "packet_builder.hpp"

namespace p0fbpf::testing {
namespace {

void put16(std::string& out, std::uint16_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>(v >> 8);
}

void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

std::vector<std::uint8_t> syn_frame(std::size_t payload) {
  PacketSpec spec;
  spec.source = {192, 0, 2, 1};
  spec.destination = {192, 0, 2, 2};
  spec.window = 65535;
  spec.payload.assign(payload, 0);
  return ethernet_frame(build_packet(spec), false);
}

std::string pcap_file_header(std::uint32_t snaplen, std::uint32_t link_type) {
  std::string out;
  put32(out, 0xa1b2c3d4);
  put16(out, 2);
  put16(out, 4);
  put32(out, 0);  // thiszone
  put32(out, 0);  // sigfigs
  put32(out, snaplen);
  put32(out, link_type);
  return out;
}

std::string pcap_record(std::uint32_t caplen, std::uint32_t len, const std::vector<std::uint8_t>& data) {
  std::string out;
  put32(out, 1700000000);
  put32(out, 0);
  put32(out, caplen);
  put32(out, len);
  out.append(data.begin(), data.end());
  return out;
}

std::string pcapng_section_header() {
  std::string out;
  put32(out, 0x0a0d0d0a);
  put32(out, 28);
  put32(out, 0x1a2b3c4d);  // byte-order magic
  put16(out, 1);           // version 1.0
  put16(out, 0);
  put32(out, 0xffffffff);  // section length: unknown
  put32(out, 0xffffffff);
  put32(out, 28);
  return out;
}

std::string pcapng_interface(std::uint16_t link_type, std::uint32_t snaplen) {
  std::string out;
  put32(out, 1);
  put32(out, 20);
  put16(out, link_type);
  put16(out, 0);
  put32(out, snaplen);
  put32(out, 20);
  return out;
}

std::string pcapng_packet(std::uint32_t interface, const std::vector<std::uint8_t>& frame) {
  auto size = static_cast<std::uint32_t>(frame.size());
  std::uint32_t padded = (size + 3) & ~3u;
  std::string out;
  put32(out, 6);
  put32(out, 32 + padded);
  put32(out, interface);
  put32(out, 0);  // timestamp, high and low
  put32(out, 0);
  put32(out, size);
  put32(out, size);
  out.append(frame.begin(), frame.end());
  out.append(padded - size, '\0');
  put32(out, 32 + padded);
  return out;
}

std::size_t write_capture(const std::string& path, std::size_t count, std::size_t payload) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  if (!dumper) throw std::runtime_error("cannot write " + path + ": " + pcap_geterr(dead));
  std::vector<std::uint8_t> frame = syn_frame(payload);
  pcap_pkthdr header{};
  header.caplen = header.len = static_cast<bpf_u_int32>(frame.size());
  for (std::size_t i = 0; i < count; ++i) {
    header.ts.tv_sec = static_cast<long>(1700000000 + i);
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  return read_bytes(path).size();
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace p0fbpf::testing
