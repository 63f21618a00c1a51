// FNV-1a, 64 bits: a short fingerprint of bytes, for names and change
// detection (a script's rule markers and pin names, an XDP selection's
// digest), not a defence against forgery.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace p0fbpf {

class Fnv1a {
 public:
  void add(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) value_ = (value_ ^ bytes[i]) * 0x100000001b3ULL;
  }
  void add_u64(std::uint64_t v) { add(&v, sizeof v); }
  std::uint64_t value() const { return value_; }

 private:
  std::uint64_t value_ = 0xcbf29ce484222325ULL;
};

inline std::uint64_t fnv1a(std::string_view text) {
  Fnv1a hash;
  hash.add(text.data(), text.size());
  return hash.value();
}

}  // namespace p0fbpf
