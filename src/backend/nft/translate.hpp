// One IR branch as nft rules: each way the branch can hold (paths.hpp)
// becomes conjunctions of raw payload compares at fixed offsets from the
// network header (@nh), which is where the IR's offsets count from.
//
// nft compares a loaded field with constants, sets and ranges, but cannot
// read at an offset that depends on the packet, nor compute with two fields.
// So, exactly:
// - a read behind the IPv4 header, whose length varies, becomes one rule per
//   header length (the IHL nibble tested, the offsets then fixed);
// - a compare of two fields one of which is a small bit field (the TCP data
//   offset) becomes one rule per value of that field;
// - a compare of two 16-bit fields of which one is fixed by the other (the
//   window that is M times the MSS) becomes a set of the pairs that hold,
//   `mss . window { ... }`;
// - a compare of one 16-bit field with arithmetic (a window divisible by K,
//   an MSS that does not divide 14600) becomes the set of values that hold.
// What none of these covers is refused, naming the field.
//
// For speed (a rule stops at its first match that fails): the compares of
// one field of at most 16 bits become one match (a range, `29-64`, where the
// values that hold are one run), and so do a wider field's lower and upper
// bound (a 32-bit window whose upper half is fixed: that half compared
// alone, then a range of the lower half); lookups come after compares; and rules that differ only in the
// pair set they end with become one rule with one set.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ir/ir.hpp"
#include "p0fbpf/diagnostic.hpp"

namespace p0fbpf::nft {

struct TranslateOptions {
  // The hook sees datagrams the IP stack has checked and trimmed to their
  // length (input, prerouting): the packet's length is the IP header's total
  // length (IPv4), or 40 plus the payload length (IPv6 without a jumbo
  // payload; the rules require next header TCP).
  bool length_from_ip_header = true;
  // At most this many rules for one branch.
  std::size_t max_rules = 1024;
};

// One nft rule's matches, in order; together they are the rule's condition.
struct Rule {
  std::vector<std::string> matches;
  bool operator==(const Rule&) const = default;
};

// The rules that accept exactly what `branch` accepts, read from the IP
// header on: a packet holds the branch exactly when it holds one rule. An
// empty list: the branch can never hold.
Result<std::vector<Rule>> translate(const ir::Branch& branch, const TranslateOptions& options);

}  // namespace p0fbpf::nft
