#include "passes/syn_gate.hpp"

#include <fmt/format.h>

#include "p0fbpf/tcp.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

constexpr std::uint32_t kTypeMask = tcp_flag::kFin | tcp_flag::kSyn | tcp_flag::kRst | tcp_flag::kAck;

// `guard` when guarded, else nothing.
ConditionPtr guard_if(bool guarded, ConditionPtr guard) { return guarded ? std::move(guard) : always(); }

// The IP header's length is at least 20, as p0f requires: a shorter one
// would put the TCP header inside it.
ConditionPtr ipv4_syn(std::uint32_t type, bool guarded) {
  ValuePtr tcp = ip_header_length();
  return all({guard_if(guarded, ge(packet_length(), 20, "gate: ip header in packet")),
              eq(bit_and(load(Width::Byte, 0), 0xf0), 0x40, "gate: ip version 4"),
              eq(load(Width::Byte, 9), 6, "gate: ip protocol tcp"),
              bits_clear(load(Width::Half, 6), 0x3fff, "gate: not a fragment"),
              guard_if(guarded, ge(packet_length(), add(tcp, 14), "gate: tcp flags in packet")),
              eq(bit_and(load(Width::Byte, 13, tcp), kTypeMask), type, "gate: tcp flags")});
}

ConditionPtr ipv6_syn(std::uint32_t type, bool guarded) {
  return all({guard_if(guarded, ge(packet_length(), 40 + 14, "gate: tcp flags in packet")),
              eq(bit_and(load(Width::Byte, 0), 0xf0), 0x60, "gate: ip version 6"),
              eq(load(Width::Byte, 6), 6, "gate: next header tcp"),
              eq(bit_and(load(Width::Byte, 40 + 13), kTypeMask), type, "gate: tcp flags")});
}

}  // namespace

Program syn_gate(Direction direction, std::optional<int> ip_version, bool guarded) {
  std::uint32_t type = direction == Direction::Response ? (tcp_flag::kSyn | tcp_flag::kAck) : tcp_flag::kSyn;
  const char* what = direction == Direction::Response ? "TCP SYN+ACK" : "TCP SYN";
  Program out;
  if (ip_version != 6) {
    out.branches.push_back({fmt::format("{} (IPv4)", what), ipv4_syn(type, guarded), 4, 0, std::nullopt});
  }
  if (ip_version != 4) {
    out.branches.push_back({fmt::format("{} (IPv6)", what), ipv6_syn(type, guarded), 6, 0, 40});
  }
  return out;
}

}  // namespace p0fbpf
