#include "p0f/window.hpp"

#include <gtest/gtest.h>

namespace p0fbpf {
namespace {

std::optional<WindowMultiplier> detect(std::uint32_t win, std::uint32_t mss, std::uint32_t ts1 = 0,
                                       std::uint32_t headers = 40, bool ipv6 = false) {
  return detect_window_multiplier(win, mss, ts1, headers, ipv6);
}

TEST(WindowDetection, FollowsP0fsOrderOfDivisors) {
  EXPECT_EQ(detect(14600, 1460), (WindowMultiplier{10, false}));
  // mss-12 only counts when there is a non-zero timestamp.
  EXPECT_EQ(detect(14480, 1460, 7), (WindowMultiplier{10, false}));
  EXPECT_EQ(detect(14480, 1460, 0), (WindowMultiplier{10, false}));  // via 1448
  EXPECT_EQ(detect(2 * 1388, 1400, 1), (WindowMultiplier{2, false}));
  EXPECT_FALSE(detect(2 * 1388, 1400, 0).has_value() && detect(2 * 1388, 1400, 0)->value == 2 &&
               !detect(2 * 1388, 1400, 0)->mtu);
  // Fixed 1460 before MTU candidates.
  EXPECT_EQ(detect(29200, 1000), (WindowMultiplier{20, false}));
  // MTU: mss + 40, then mss + actual headers, then 1500.
  EXPECT_EQ(detect(2 * 1500, 1460), (WindowMultiplier{2, true}));
  EXPECT_EQ(detect(3 * (1000 + 52), 1000, 0, 52), (WindowMultiplier{3, true}));
  EXPECT_EQ(detect(7 * 1500, 1000), (WindowMultiplier{7, true}));
  // IPv6 adds 1440, 1428 and mss + 60.
  EXPECT_EQ(detect(4 * 1440, 1000, 0, 60, true), (WindowMultiplier{4, false}));
  EXPECT_NE(detect(4 * 1440, 1000, 0, 60, false), (WindowMultiplier{4, false}));
  EXPECT_EQ(detect(5 * 1060, 1000, 0, 80, true), (WindowMultiplier{5, true}));
}

TEST(WindowDetection, NothingForZeroWindowOrSmallMss) {
  EXPECT_FALSE(detect(0, 1460).has_value());
  EXPECT_FALSE(detect(990, 99).has_value());
  EXPECT_TRUE(detect(1000, 100).has_value());
  EXPECT_FALSE(detect(65521, 1460).has_value());  // a prime
}

}  // namespace
}  // namespace p0fbpf
