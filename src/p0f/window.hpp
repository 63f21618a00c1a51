// p0f's window-size multiplier detection, both as a plain function over
// concrete values and lowered to IR for exact-mode programs.
#pragma once

#include <cstdint>
#include <optional>

#include "p0fbpf/ast.hpp"
#include "ir/ir.hpp"

namespace p0fbpf {

struct WindowMultiplier {
  unsigned value = 0;
  bool mtu = false;  // mtu*M rather than mss*M
  bool operator==(const WindowMultiplier&) const = default;
};

// What p0f 3.09b's detect_win_multi() returns for a packet (without the
// peer-MSS rule that only SYN+ACKs with flow state get).
std::optional<WindowMultiplier> detect_window_multiplier(std::uint32_t window, std::uint32_t mss,
                                                        std::uint32_t ts1,
                                                        std::uint32_t header_total, bool ipv6);

// What the exact-mode window check knows about the packet.
struct WindowFacts {
  ir::ValuePtr window;
  ir::ValuePtr mss;           // the last MSS option's value, or constant 0
  ir::ConditionPtr ts1_set;   // the last timestamp's ts1 != 0 (may be constant)
  ir::ValuePtr header_total;  // IP header + TCP header length
  bool ipv6 = false;
  // Try win == M*mss first: the usual match, found in a few instructions,
  // for a few more instructions in the program.
  bool shortcut = true;
};

ir::ConditionPtr exact_window(const WindowSize& window, const WindowFacts& facts);

}  // namespace p0fbpf
