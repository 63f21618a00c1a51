// Checks that passes keep the IR's verdict (ir::evaluate) on packets around
// every TCP signature of p0f.fp, the examples and the bundled database: matching ones, near misses
// and random ones, without code generation; for order-versions,
// widen-masks, drop-last-guards and copy-per-tag, also that the first
// branch to accept each packet stays the same.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace p0fbpf::testing {

struct PassVerdicts {
  std::size_t runs = 0;      // times the pass ran
  std::size_t changed = 0;   // of them, times it changed the program
  std::size_t packets = 0;   // verdicts compared
  std::size_t accepted = 0;  // of them, where a branch held before and after
};

// Compiles every signature with the next one in the modes and links the
// passes can see (exact and loose, raw and Ethernet, negated or not, each
// form), and compares the verdicts before and after every run of each of
// `passes` (names of pass_names()), failing the current test, with the
// pass's name, where they differ. One compilation serves every pass. For
// the link pass, the packet before it is the IP datagram and after it the
// frame. Two passes work as a pair in negated programs, where a read past
// the end means "no match": drop-implied-lengths may leave a truncated
// datagram to end the program, and guard-reads makes such a packet fail the
// branch instead; those packets are not compared for them.
// Also fails unless each pass changed some program and some packets
// matched, and prints the counts; returns them by pass.
std::map<std::string, PassVerdicts, std::less<>> expect_passes_keep_verdicts(const std::vector<std::string_view>& passes);

}  // namespace p0fbpf::testing
