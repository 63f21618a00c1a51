// p0f's window-size multiplier detection (detect_win_multi()): the divisors
// it tries, in its order, and what it makes of a packet's window. The
// exact-mode check that lowers the same rule to IR is passes/lower_window.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace p0fbpf {

struct WindowMultiplier {
  unsigned value = 0;
  bool mtu = false;  // mtu*M rather than mss*M
  bool operator==(const WindowMultiplier&) const = default;
};

inline constexpr std::uint32_t kWindowMtu = 1500;
inline constexpr std::uint32_t kWindowMinMss = 100;  // p0f tries no divisor below this MSS

// One divisor p0f's detect_win_multi() tries: a constant, or the MSS plus
// a constant, or the MSS plus the packet's IP and TCP header length.
struct WindowDivisor {
  enum class Base { None, Mss, MssAndHeaders };
  enum class When { Always, Ts1Set, Ipv6 };
  Base base;
  std::int32_t plus;
  bool mtu;  // gives mtu*M rather than mss*M
  When when;
};

// p0f's divisors, in the order it tries them.
std::span<const WindowDivisor> window_divisors();

// What p0f 3.09b's detect_win_multi() returns for a packet (without the
// peer-MSS rule that only SYN+ACKs with flow state get).
std::optional<WindowMultiplier> detect_window_multiplier(std::uint32_t window, std::uint32_t mss,
                                                        std::uint32_t ts1,
                                                        std::uint32_t header_total, bool ipv6);

}  // namespace p0fbpf
