// Test packets around a signature: ones built to match it, and near misses
// that change one thing. Whether they match is for p0f to say.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "p0fbpf/ast.hpp"
#include "packet_builder.hpp"

namespace p0fbpf::testing {

using Random = std::mt19937_64;

// A packet that p0f should strictly match against `sig` (random where the
// signature leaves a choice).
PacketSpec matching_packet(const Signature& sig, bool ipv6, bool response, Random& rng);

// The same packet with one random change (a field, a flag, an option byte,
// a length, a boundary value...).
PacketSpec mutate(const PacketSpec& packet, Random& rng);

// A packet with random header fields and a random option layout.
PacketSpec random_packet(bool ipv6, bool response, Random& rng);

// For every signature and each IP version it allows, `per_version` IP
// packets (at least 3): two built to match it, the rest near misses, the
// last a random packet; each with whether it is IPv6.
std::vector<std::pair<std::vector<std::uint8_t>, bool>> packets_around(const std::vector<Signature>& signatures,
                                                                       bool response, int per_version, Random& rng);

}  // namespace p0fbpf::testing
