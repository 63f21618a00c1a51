// Fingerprinting captures: p0f's raw_sig for every SYN (or SYN+ACK), counted.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/capture.hpp"
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

// Counts raw signatures by the fields they show; each distinct signature is
// formatted only when printed. An open-addressing table over entries kept
// in fixed blocks (never moved), as a flood can hold tens of thousands of
// distinct signatures.
class SignatureCounter {
 public:
  // Room for about `expected` distinct signatures (up to a bound) before the
  // table first grows; it grows as needed either way.
  explicit SignatureCounter(std::size_t expected = 0);
  // Room for as many as the capture's file can hold (up to the same bound),
  // not to grow table by table; a pipe's capture has no size to go by.
  explicit SignatureCounter(const Capture& capture);
  ~SignatureCounter();
  SignatureCounter(SignatureCounter&&) noexcept;
  SignatureCounter& operator=(SignatureCounter&&) noexcept;

  // Counted a few signatures later: add() keeps the last ones waiting while
  // their table slots load, which makes counting a capture of 75,000
  // distinct signatures about a fifth faster (bench/capture_bench.cpp's
  // stress capture). distinct() and most_frequent() count what still waits,
  // hence not const.
  void add(const PacketFacts& facts);
  std::size_t distinct();
  // Signature indices, most frequent first, ties in the order first seen;
  // at most `top` (0: all).
  std::vector<std::uint32_t> most_frequent(std::size_t top = 0);
  // These take the indices most_frequent() gave.
  std::size_t count(std::uint32_t index) const;
  // Starts loading a signature's entry, for count() and append_signature()
  // a few signatures later: the order of frequency visits entries out of
  // the order they are stored in.
  void prefetch(std::uint32_t index) const;
  // What the signature shows, and the window field of its first packet
  // (raw_sig shows a window that is a multiple of the MSS or MTU as that
  // multiple, so packets of one signature may differ in it).
  const SignatureFields& fields(std::uint32_t index) const;
  std::uint16_t first_window(std::uint32_t index) const;
  // Appends the signature's raw_sig text.
  void append_signature(std::uint32_t index, std::string& out) const;

 private:
  struct Table;
  std::unique_ptr<Table> table_;
};

}  // namespace p0fbpf
