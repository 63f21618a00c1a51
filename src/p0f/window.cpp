#include "p0f/window.hpp"

namespace p0fbpf {
namespace {

using Base = WindowDivisor::Base;
using When = WindowDivisor::When;

constexpr WindowDivisor kDivisors[] = {
    {Base::Mss, 0, false, When::Always},
    {Base::Mss, -12, false, When::Ts1Set},
    {Base::None, kWindowMtu - 40, false, When::Always},
    {Base::None, kWindowMtu - 40 - 12, false, When::Always},
    {Base::None, kWindowMtu - 60, false, When::Ipv6},
    {Base::None, kWindowMtu - 60 - 12, false, When::Ipv6},
    {Base::Mss, 40, true, When::Always},
    {Base::MssAndHeaders, 0, true, When::Always},
    {Base::Mss, 60, true, When::Ipv6},
    {Base::None, kWindowMtu, true, When::Always},
};

}  // namespace

std::span<const WindowDivisor> window_divisors() { return kDivisors; }

std::optional<WindowMultiplier> detect_window_multiplier(std::uint32_t window, std::uint32_t mss,
                                                        std::uint32_t ts1,
                                                        std::uint32_t header_total, bool ipv6) {
  if (window == 0 || mss < kWindowMinMss) return std::nullopt;
  auto divides = [&](std::uint32_t d) { return d != 0 && window % d == 0; };
  // No allocation: fingerprinting calls this once per packet.
  for (const WindowDivisor& d : kDivisors) {
    if ((d.when == When::Ts1Set && ts1 == 0) || (d.when == When::Ipv6 && !ipv6)) continue;
    std::uint32_t base = d.base == Base::None ? 0 : d.base == Base::Mss ? mss : mss + header_total;
    std::uint32_t divisor = base + static_cast<std::uint32_t>(d.plus);
    if (divides(divisor)) return WindowMultiplier{window / divisor, d.mtu};
  }
  return std::nullopt;
}

}  // namespace p0fbpf
