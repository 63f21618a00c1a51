// Randomized tests print their seed and take it from P0FBPF_SEED, so that a
// failure can be repeated; packets in their messages are hex.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace p0fbpf::testing {

inline std::uint64_t seed_from_env() {
  if (const char* s = std::getenv("P0FBPF_SEED")) return std::stoull(s);
  return std::random_device{}();
}

inline std::string hex(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (auto b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

}  // namespace p0fbpf::testing
