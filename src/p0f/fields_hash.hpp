// The fingerprint table's hash: keyed, so that a capture from a stranger
// cannot be made of signatures that collide. Multilinear hashing over the
// fields' 32-bit words with random 64-bit keys, keeping the high half: for
// any two different field sets, the chance that they collide is about
// 2^-32 over the keys, whatever the fields are (strong universality; see
// Lemire and Kaser, "Strongly universal string hashing is fast", 2014).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>

#include "p0fbpf/packet.hpp"

namespace p0fbpf {

class FieldsHash {
 public:
  static constexpr std::size_t kWords = sizeof(SignatureFields) / 4;
  static_assert(sizeof(SignatureFields) % 4 == 0);
  using Keys = std::array<std::uint64_t, kWords + 1>;

  FieldsHash();  // keys from std::random_device
  explicit FieldsHash(const Keys& keys) : keys_(keys) {}

  std::uint32_t operator()(const SignatureFields& fields) const {
    std::array<std::uint32_t, kWords> words;
    std::memcpy(words.data(), &fields, sizeof fields);
    std::uint64_t sum = keys_[0];
    for (std::size_t i = 0; i < kWords; ++i) sum += keys_[i + 1] * words[i];
    return static_cast<std::uint32_t>(sum >> 32);
  }

 private:
  Keys keys_;
};

}  // namespace p0fbpf
