// Capture files for tests of unusual and broken captures: pcap and pcapng
// built byte by byte (little-endian), and large captures written with
// libpcap itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace p0fbpf::testing {

// An IPv4 SYN with TTL 64 in an Ethernet frame, `payload` zero bytes after
// its TCP header.
std::vector<std::uint8_t> syn_frame(std::size_t payload = 0);

// A pcap file header (microsecond timestamps).
std::string pcap_file_header(std::uint32_t snaplen, std::uint32_t link_type);
// A record whose header claims `caplen` and `len`, followed by `data`
// whatever its size.
std::string pcap_record(std::uint32_t caplen, std::uint32_t len, const std::vector<std::uint8_t>& data);

// pcapng blocks: a Section Header Block, an Interface Description Block,
// an Enhanced Packet Block.
std::string pcapng_section_header();
std::string pcapng_interface(std::uint16_t link_type, std::uint32_t snaplen);
std::string pcapng_packet(std::uint32_t interface, const std::vector<std::uint8_t>& frame);

// Writes `count` copies of syn_frame(payload) to an Ethernet pcap with
// libpcap; returns the file's size.
std::size_t write_capture(const std::string& path, std::size_t count, std::size_t payload);

// The bytes of a file.
std::string read_bytes(const std::string& path);

}  // namespace p0fbpf::testing
