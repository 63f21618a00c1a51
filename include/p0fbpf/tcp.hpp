// TCP header facts that p0f's signatures and its packet analysis share.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace p0fbpf {

namespace tcp_option {
inline constexpr std::uint8_t kEol = 0;
inline constexpr std::uint8_t kNop = 1;
inline constexpr std::uint8_t kMss = 2;
inline constexpr std::uint8_t kWindowScale = 3;
inline constexpr std::uint8_t kSackPermitted = 4;
inline constexpr std::uint8_t kSack = 5;
inline constexpr std::uint8_t kTimestamp = 8;

// The kinds p0f names in a signature's layout; the others are written ?N.
inline constexpr std::uint8_t kNamed[] = {kEol, kNop, kMss, kWindowScale, kSackPermitted, kSack, kTimestamp};

// p0f's name for an option kind ("eol" without its "+N"); empty for ?N.
constexpr std::string_view name(std::uint8_t kind) {
  switch (kind) {
    case kEol: return "eol";
    case kNop: return "nop";
    case kMss: return "mss";
    case kWindowScale: return "ws";
    case kSackPermitted: return "sok";
    case kSack: return "sack";
    case kTimestamp: return "ts";
  }
  return {};
}

// The bytes an option of a fixed size takes (EOL and NOP one, no length
// byte), as p0f's walk advances over it; 0 for the kinds whose length byte
// gives their size.
constexpr std::uint8_t fixed_size(std::uint8_t kind) {
  switch (kind) {
    case kEol:
    case kNop: return 1;
    case kMss: return 4;
    case kWindowScale: return 3;
    case kSackPermitted: return 2;
    case kTimestamp: return 10;
  }
  return 0;
}
}  // namespace tcp_option

// p0f records at most this many options (its MAX_TCP_OPT); its walk stops there.
inline constexpr std::size_t kMaxTcpOptions = 24;

// The bits of the TCP flags byte.
namespace tcp_flag {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
inline constexpr std::uint8_t kUrg = 0x20;
inline constexpr std::uint8_t kEce = 0x40;
inline constexpr std::uint8_t kCwr = 0x80;
}  // namespace tcp_flag

}  // namespace p0fbpf
