// How many SYNs (or SYN+ACKs) a capture file can hold at most: what the
// fingerprint table is sized for before reading it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace p0fbpf {

std::size_t most_fingerprints(std::uint64_t capture_bytes);

}  // namespace p0fbpf
