// The label p0f 3.09b gives a SYN or SYN+ACK from a database: its matching
// (fp_tcp.c's order), not the compiler's. A specific signature that fits
// every field wins at once; else the first generic (g:) one that fits;
// else the first fuzzy fit (quirks df/id+ gone or id-/ecn come, or the TTL
// outside the signature's window), unless its label is a tool's (class !).
// Like p0f, it ignores the IP version of a 4: or 6: signature (a `*` one
// drops the other version's quirks), and it compares a window shown as a
// multiple by the multiple p0f detected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/ast.hpp"
#include "p0fbpf/database.hpp"
#include "p0fbpf/packet.hpp"
#include "p0fbpf/types.hpp"

namespace p0fbpf {

struct LabelMatch {
  const DatabaseLabel* label = nullptr;
  std::size_t signature = 0;  // its index in label->signatures
  bool fuzzy = false;
  bool generic = false;      // a g: label
  bool application = false;  // class '!': p0f prints app = rather than os =
  bool random_ttl = false;   // the signature's TTL is N-
  // What p0f prints after os = or app =: "name flavor", e.g. "Linux 3.11 and newer".
  std::string name;
};

// p0f's words for the match in its params field ("generic fuzzy",
// "random_ttl"); empty for none.
std::string match_flags(const LabelMatch& match);

class Labeller {
 public:
  // The database's signatures of `direction`, in file order. Signatures that
  // do not parse (read_database refuses those) are left out.
  Labeller(const Database& database, Direction direction);

  // The label of a packet p0f shows as `fields` and whose window field is
  // `window` (its raw value, which a window shown as mss*M or mtu*M hides);
  // nullopt where p0f says ???.
  std::optional<LabelMatch> match(const SignatureFields& fields, std::uint16_t window) const;
  std::optional<LabelMatch> match(const PacketFacts& facts) const {
    return match(signature_fields(facts), facts.window);
  }

 private:
  struct Entry {
    const DatabaseLabel* label;
    std::size_t index;
    Signature signature;
    std::uint32_t quirks;  // bit (1 << Quirk)
    bool generic;
    bool application;
  };
  std::vector<Entry> entries_;
  LabelMatch result(const Entry& entry, bool fuzzy) const;
};

}  // namespace p0fbpf
