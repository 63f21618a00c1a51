// Fingerprinting captures: p0f's raw_sig for every SYN (or SYN+ACK), counted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/link.hpp"
#include "p0fbpf/lower.hpp"

namespace p0fbpf {

// The raw_sig of a frame that carries a SYN (Direction::Request) or SYN+ACK
// (Direction::Response) p0f would fingerprint, else nullopt.
std::optional<std::string> fingerprint_frame(LinkType link, const std::uint8_t* frame, std::size_t length,
                                             Direction direction);

struct SignatureCount {
  std::string signature;
  std::size_t count = 0;
};

class SignatureCounter {
 public:
  void add(const std::string& signature) { ++counts_[signature]; }
  std::size_t distinct() const { return counts_.size(); }
  // Most frequent first, then by signature; at most `top` (0: all).
  std::vector<SignatureCount> most_frequent(std::size_t top = 0) const;

 private:
  std::map<std::string, std::size_t> counts_;
};

}  // namespace p0fbpf
