// Fingerprinting captures: p0f's raw_sig for every SYN (or SYN+ACK), counted.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/packet.hpp"
#include "p0fbpf/types.hpp"

namespace p0fbpf {

// What p0f derives from a frame that carries a SYN (Direction::Request) or a
// SYN+ACK (Direction::Response) it would fingerprint, else nullopt.
std::optional<PacketFacts> fingerprint_facts(LinkType link, const std::uint8_t* frame, std::size_t length,
                                             Direction direction);

// Its raw_sig.
std::optional<std::string> fingerprint_frame(LinkType link, const std::uint8_t* frame, std::size_t length,
                                             Direction direction);

// Signatures with their counts, the text of all of them in one buffer.
struct SignatureCounts {
  struct Entry {
    std::size_t count;
    std::size_t offset, length;
  };
  std::string text;
  std::vector<Entry> entries;

  std::string_view signature(std::size_t i) const { return std::string_view(text).substr(entries[i].offset, entries[i].length); }
  std::size_t count(std::size_t i) const { return entries[i].count; }
  std::size_t size() const { return entries.size(); }
};

// Counts raw signatures by the fields they show, each distinct signature
// formatted once at the end. An open-addressing table, as a flood can hold
// tens of thousands of distinct signatures.
class SignatureCounter {
 public:
  SignatureCounter();
  ~SignatureCounter();
  SignatureCounter(SignatureCounter&&) noexcept;
  SignatureCounter& operator=(SignatureCounter&&) noexcept;

  void add(const PacketFacts& facts);
  std::size_t distinct() const;
  // Most frequent first, ties in the order first seen; at most `top` (0: all).
  SignatureCounts most_frequent(std::size_t top = 0) const;

 private:
  struct Table;
  std::unique_ptr<Table> table_;
};

}  // namespace p0fbpf
