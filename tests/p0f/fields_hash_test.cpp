#include "p0f/fields_hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace p0fbpf {
namespace {

// Distinct field sets of the kinds a capture can hold: each differs from
// the others in one field or in the option layout's last kinds only.
std::vector<SignatureFields> distinct_fields(std::uint32_t count) {
  std::vector<SignatureFields> out;
  for (std::uint32_t i = 0; out.size() < count; ++i) {
    SignatureFields f;
    f.ip_version = 4;
    f.ttl = 64;
    f.option_count = kMaxTcpOptions;
    switch (i % 4) {
      case 0: f.window = i; break;
      case 1: f.mss = i; break;
      case 2: f.quirks = i; break;
      case 3:  // only the layout's tail: the last three kinds
        f.layout[kMaxTcpOptions - 1] = static_cast<std::uint8_t>(i >> 2);
        f.layout[kMaxTcpOptions - 2] = static_cast<std::uint8_t>(i >> 10);
        f.layout[kMaxTcpOptions - 3] = static_cast<std::uint8_t>(i >> 18);
        break;
    }
    out.push_back(f);
  }
  return out;
}

std::size_t collisions(const FieldsHash& hash, const std::vector<SignatureFields>& fields) {
  std::vector<std::uint32_t> values;
  for (const auto& f : fields) values.push_back(hash(f));
  std::sort(values.begin(), values.end());
  return values.size() - static_cast<std::size_t>(std::unique(values.begin(), values.end()) - values.begin());
}

// 200,000 distinct field sets: about n^2 / 2^33 = 4.7 collisions expected
// of a 32-bit hash; a word left out of the hash would make tens of thousands.
TEST(FieldsHash, DistinctFieldsRarelyCollide) {
  std::vector<SignatureFields> fields = distinct_fields(200000);
  for (int round = 0; round < 3; ++round) EXPECT_LT(collisions(FieldsHash(), fields), 40u);
}

// The keys, not the fields alone, decide where a signature goes: fields
// that collide under one key rarely collide under another.
TEST(FieldsHash, AnotherKeyAnotherHash) {
  std::vector<SignatureFields> fields = distinct_fields(1000);
  FieldsHash one, other;
  std::size_t same = 0;
  for (const auto& f : fields) same += one(f) == other(f);
  EXPECT_LT(same, 5u);
}

// With chosen keys the hash is the multilinear sum's high half: key 0 plus
// each 32-bit word times its key, modulo 2^64.
TEST(FieldsHash, IsTheMultilinearSumsHighHalf) {
  FieldsHash::Keys keys{};
  keys[0] = std::uint64_t{7} << 32;
  keys[1] = std::uint64_t{1} << 32;  // the first word: version, TTL, scale, option count
  SignatureFields f;
  EXPECT_EQ(FieldsHash(keys)(f), 7u);
  f.ip_version = 6;  // the first word's lowest byte on a little-endian machine, else its highest
  std::uint32_t word;
  std::memcpy(&word, &f, sizeof word);
  EXPECT_EQ(FieldsHash(keys)(f), 7u + word);
  keys[FieldsHash::kWords] = 3;  // the last word (the layout's last four kinds), below the high half
  f.layout[kMaxTcpOptions - 1] = 1;
  EXPECT_EQ(FieldsHash(keys)(f), 7u + word);  // 3 times that word is below 2^32: no carry
  keys[FieldsHash::kWords] = std::uint64_t{1} << 32;
  std::uint32_t last;
  std::memcpy(&last, f.layout.data() + kMaxTcpOptions - 4, sizeof last);
  EXPECT_EQ(FieldsHash(keys)(f), static_cast<std::uint32_t>(7u + word + last));
}

}  // namespace
}  // namespace p0fbpf
