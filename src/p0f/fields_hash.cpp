#include "p0f/fields_hash.hpp"

#include <random>

namespace p0fbpf {

FieldsHash::FieldsHash() {
  std::random_device random;
  for (std::uint64_t& key : keys_) key = (std::uint64_t{random()} << 32) | random();
}

}  // namespace p0fbpf
