// From the SYNs of an attack (and of normal traffic) to a few exact-mode
// signatures that catch the attack and spare the normal traffic
// (docs/semantics.md §6).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "p0fbpf/packet.hpp"

namespace p0fbpf {

// SYNs (or SYN+ACKs) counted by what exact-mode matching reads of them:
// grouped by the fields a suggestion keeps exact (version, IP option length,
// option layout, EOL padding, quirks, payload class), and within a group by
// the fields it may widen (TTL, MSS, window, window scale). Memory grows with
// the distinct packets, not with their number.
class SynSample {
 public:
  SynSample();
  ~SynSample();
  SynSample(SynSample&&) noexcept;
  SynSample& operator=(SynSample&&) noexcept;

  void add(const PacketFacts& facts);
  std::size_t total() const;

  struct Groups;
  const Groups& groups() const { return *groups_; }

 private:
  std::unique_ptr<Groups> groups_;
};

struct SuggestOptions {
  std::size_t max_signatures = 4;
  // The share of the baseline's SYNs the signatures may match together, 0..1.
  double max_collateral = 0;
};

struct SuggestedSignature {
  std::string text;                // an exact-mode signature, as the parser takes it
  std::size_t attack_matched = 0;  // attack SYNs it matches
  std::size_t baseline_hits = 0;   // baseline SYNs it matches
};

struct Suggestion {
  std::vector<SuggestedSignature> signatures;  // in the order chosen, most new coverage first
  std::size_t attack_syns = 0;
  std::size_t baseline_syns = 0;
  std::size_t covered = 0;       // attack SYNs some signature matches
  std::size_t baseline_hit = 0;  // baseline SYNs some signature matches
  std::size_t allowance = 0;     // baseline SYNs the options allow to match
  // Attack SYNs that even the narrowest signature suggest can write for them
  // cannot separate from the baseline: it matches more baseline SYNs than
  // allowed. With an example: the most frequent such narrowest signature.
  std::size_t inseparable = 0;
  std::string inseparable_example;
  std::size_t inseparable_example_hits = 0;  // baseline SYNs it matches
  std::size_t inseparable_example_syns = 0;  // attack SYNs it is the narrowest for
};

// Signatures that cover as many of the attack's SYNs as they can, greedily,
// each step taking the candidate that covers the most attack SYNs not yet
// covered while the baseline SYNs matched stay within the allowance.
Suggestion suggest(const SynSample& attack, const SynSample& baseline, const SuggestOptions& options);

}  // namespace p0fbpf
