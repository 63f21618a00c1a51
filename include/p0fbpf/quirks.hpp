// p0f's TCP quirks, described once: the parser, the lowering, fingerprinting
// and --help all read this table (docs/semantics.md §1.4).
#pragma once

#include <array>
#include <string>

#include "p0fbpf/types.hpp"

namespace p0fbpf {

// In p0f's order, the order raw_sig prints them in (docs/semantics.md §2.9);
// a packet's quirks are the bit set (1 << Quirk).
enum class Quirk {
  DontFragment,
  NonZeroId,
  ZeroId,
  Ecn,
  MustBeZero,
  FlowLabel,
  ZeroSeq,
  NonZeroAck,
  ZeroAck,
  NonZeroUrgentPtr,
  UrgentFlag,
  PushFlag,
  ZeroTs1,
  NonZeroTs2,
  OptionDataAfterEol,
  ExcessiveScale,
  BadOptions,
  LinuxId,  // p0fbpf extension, --loose only
};
inline constexpr int kQuirkCount = 18;

struct QuirkFacts {
  Quirk quirk;
  const char* name;   // as p0f spells it
  IpVersion version;  // the only IP version that has it, or Any
  // Whether exact mode still requires it of a packet of the other IP version
  // (a `*` signature's other branch). p0f drops df, id+ and id- for IPv6
  // packets and flow for IPv4 ones, but not 0+, so a `*` signature with 0+
  // never matches IPv6 (docs/semantics.md §3.3, §4.1). Loose mode drops
  // every quirk for the other version, 0+ too.
  bool exact_keeps_for_other_version;
  bool loose_only;   // a p0fbpf extension p0f does not know
  const char* help;  // what it means, for --help
};

inline constexpr std::array<QuirkFacts, kQuirkCount> kQuirks = {{
    {Quirk::DontFragment, "df", IpVersion::V4, false, false, "IPv4 don't-fragment flag set"},
    {Quirk::NonZeroId, "id+", IpVersion::V4, false, false, "DF set and IPv4 ID non-zero"},
    {Quirk::ZeroId, "id-", IpVersion::V4, false, false, "DF clear and IPv4 ID zero"},
    {Quirk::Ecn, "ecn", IpVersion::Any, false, false, "explicit congestion notification in use (IP or TCP)"},
    {Quirk::MustBeZero, "0+", IpVersion::V4, true, false, "IPv4 reserved (\"must be zero\") flag set"},
    {Quirk::FlowLabel, "flow", IpVersion::V6, false, false, "IPv6 flow label non-zero"},
    {Quirk::ZeroSeq, "seq-", IpVersion::Any, false, false, "sequence number zero"},
    {Quirk::NonZeroAck, "ack+", IpVersion::Any, false, false, "ACK number non-zero without the ACK flag"},
    {Quirk::ZeroAck, "ack-", IpVersion::Any, false, false, "ACK number zero with the ACK flag"},
    {Quirk::NonZeroUrgentPtr, "uptr+", IpVersion::Any, false, false, "urgent pointer non-zero without URG"},
    {Quirk::UrgentFlag, "urgf+", IpVersion::Any, false, false, "URG flag set"},
    {Quirk::PushFlag, "pushf+", IpVersion::Any, false, false, "PSH flag set"},
    {Quirk::ZeroTs1, "ts1-", IpVersion::Any, false, false, "a timestamp option with ts1 zero"},
    {Quirk::NonZeroTs2, "ts2+", IpVersion::Any, false, false, "a SYN with a timestamp option whose ts2 is non-zero"},
    {Quirk::OptionDataAfterEol, "opt+", IpVersion::Any, false, false, "non-zero bytes after EOL"},
    {Quirk::ExcessiveScale, "exws", IpVersion::Any, false, false, "window scale above 14"},
    {Quirk::BadOptions, "bad", IpVersion::Any, false, false, "the option walk found a malformed option"},
    {Quirk::LinuxId, "linux", IpVersion::V4, false, true, "IPv4 ID == (seq XOR ts1) & 0xffff"},
}};

constexpr bool quirk_table_in_enum_order() {
  for (int i = 0; i < kQuirkCount; ++i) {
    if (static_cast<int>(kQuirks[i].quirk) != i) return false;
  }
  return true;
}
static_assert(quirk_table_in_enum_order(), "kQuirks is indexed by Quirk");

constexpr const QuirkFacts& quirk_facts(Quirk quirk) { return kQuirks[static_cast<int>(quirk)]; }

// The spelling p0f uses for a quirk ("df", "id+", ...).
constexpr const char* quirk_name(Quirk quirk) { return quirk_facts(quirk).name; }

// Whether a packet of that IP version can have the quirk at all.
constexpr bool quirk_exists_in(Quirk quirk, bool ipv6) {
  IpVersion version = quirk_facts(quirk).version;
  return version == IpVersion::Any || (version == IpVersion::V6) == ipv6;
}

// "df, id+, ..., bad (and linux with --loose)", for messages.
std::string quirk_names();

}  // namespace p0fbpf
