#include "p0fbpf/suggest.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

#include "p0f/fields_hash.hpp"
#include "p0fbpf/ast.hpp"

namespace p0fbpf {
namespace {

constexpr unsigned kInitialTtls[] = {32, 64, 128, 255};
constexpr unsigned kTtlDistance = 35;  // p0f's widest TTL window (docs/semantics.md §3.1, 7)

// Per field, how many of a group's most frequent values become candidates
// (besides '*'): bounds the candidates of a group to 8 * 4 * 8 * 4.
constexpr std::size_t kMssValues = 3;
constexpr std::size_t kScaleValues = 3;
constexpr std::size_t kWindowSizes = 3;
constexpr std::size_t kWindowMultipliers = 2;  // of each kind, mss and mtu
// Groups searched, largest first: each signature keeps one group's exact
// fields, so only the largest groups can matter.
constexpr std::size_t kMinGroupsSearched = 16;
constexpr std::size_t kMaxGroupsSearched = 64;
// A narrower candidate is preferred while it covers at most one attack SYN
// in this many fewer than the best.
constexpr std::size_t kStrayShare = 1000;

// p0f's rounding of an observed TTL: the next usual initial TTL at or above it.
unsigned initial_ttl(unsigned ttl) {
  for (unsigned initial : kInitialTtls) {
    if (ttl <= initial) return initial;
  }
  return 255;
}

// The fields a suggestion may widen, packed into one word as a hash key.
struct Varying {
  unsigned ttl = 0;
  unsigned scale = 0;
  unsigned window_kind = 0;  // as in SignatureFields: 0 the size, 1 mss*M, 2 mtu*M
  unsigned mss = 0;
  unsigned window = 0;       // the window field itself
  unsigned multiplier = 0;   // M, when window_kind is not 0

  std::uint64_t pack() const {
    return std::uint64_t{ttl} | std::uint64_t{scale} << 8 | std::uint64_t{window_kind} << 16 |
           std::uint64_t{mss} << 18 | std::uint64_t{window} << 34 | std::uint64_t{multiplier} << 50;
  }
  static Varying unpack(std::uint64_t word) {
    return {static_cast<unsigned>(word & 0xff), static_cast<unsigned>(word >> 8 & 0xff),
            static_cast<unsigned>(word >> 16 & 0x3), static_cast<unsigned>(word >> 18 & 0xffff),
            static_cast<unsigned>(word >> 34 & 0xffff), static_cast<unsigned>(word >> 50 & 0x3ff)};
  }
};

struct FieldsEqual {
  bool operator()(const SignatureFields& a, const SignatureFields& b) const {
    return std::memcmp(&a, &b, sizeof a) == 0;
  }
};

// The TTL forms of docs/semantics.md §3.1, 7: `N` (window) or `N-` (random).
struct TtlForm {
  unsigned initial = 0;
  bool random = false;

  bool admits(unsigned ttl) const {
    return ttl <= initial && (random || initial <= kTtlDistance || ttl + kTtlDistance >= initial);
  }
  unsigned width() const { return random || initial <= kTtlDistance ? initial + 1 : kTtlDistance + 1; }
  std::string text() const { return fmt::format("{}{}", initial, random ? "-" : ""); }
  bool operator==(const TtlForm&) const = default;
};

struct WindowForm {
  WindowSize::Kind kind = WindowSize::Kind::Any;
  unsigned value = 0;

  bool admits(const Varying& v) const {
    switch (kind) {
      case WindowSize::Kind::Exact: return v.window == value;
      case WindowSize::Kind::MssMultiple: return v.window_kind == 1 && v.multiplier == value;
      case WindowSize::Kind::MtuMultiple: return v.window_kind == 2 && v.multiplier == value;
      default: return true;
    }
  }
  std::string text() const {
    switch (kind) {
      case WindowSize::Kind::Exact: return fmt::format("{}", value);
      case WindowSize::Kind::MssMultiple: return fmt::format("mss*{}", value);
      case WindowSize::Kind::MtuMultiple: return fmt::format("mtu*{}", value);
      default: return "*";
    }
  }
};

// An MSS or window scale: the value, or nullopt for '*'.
using Value = std::optional<unsigned>;
bool admits_value(const Value& value, unsigned seen) { return !value || *value == seen; }
std::string text(const Value& value) { return value ? fmt::format("{}", *value) : "*"; }

struct Group {
  SignatureFields exact;  // the widened fields zero
  std::unordered_map<std::uint64_t, std::uint32_t> tuples;  // Varying::pack() -> SYNs
  std::size_t total = 0;
};

// The signature with the group's exact fields and these widened ones: the
// raw_sig's text, whose fields hold no ':', with four fields replaced.
std::string signature_text(const SignatureFields& exact, const TtlForm& ttl, const Value& mss,
                           const WindowForm& window, const Value& scale) {
  std::string raw;
  append_signature(exact, raw);
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t colon; (colon = raw.find(':', start)) != std::string::npos; start = colon + 1) {
    fields.push_back(raw.substr(start, colon - start));
  }
  fields.push_back(raw.substr(start));
  fields[1] = ttl.text();
  fields[3] = text(mss);
  fields[4] = window.text() + "," + text(scale);
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) out += (i ? ":" : "") + fields[i];
  return out;
}

// The `limit` values seen most often (ties: the smaller value first).
std::vector<unsigned> most_frequent(const std::unordered_map<unsigned, std::size_t>& counts, std::size_t limit) {
  std::vector<std::pair<unsigned, std::size_t>> sorted(counts.begin(), counts.end());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  std::vector<unsigned> out;
  for (std::size_t i = 0; i < sorted.size() && i < limit; ++i) out.push_back(sorted[i].first);
  return out;
}

// The TTL windows that admit some attack SYN, then the random forms (which
// p0f reads wrongly after a non-zero IP option length, docs/semantics.md §4.1).
std::vector<TtlForm> ttl_forms(const std::vector<unsigned>& ttls, std::uint32_t ip_option_length) {
  std::vector<TtlForm> forms;
  for (unsigned initial : kInitialTtls) {
    TtlForm window{initial, false};
    if (std::any_of(ttls.begin(), ttls.end(), [&](unsigned t) { return window.admits(t); })) forms.push_back(window);
  }
  if (ip_option_length == 0) {
    for (unsigned initial : kInitialTtls) {
      if (std::any_of(ttls.begin(), ttls.end(), [&](unsigned t) { return initial_ttl(t) == initial; })) {
        forms.push_back({initial, true});
      }
    }
  }
  return forms;
}

// A signature taken, by its widened fields.
struct Widened {
  TtlForm ttl;
  Value mss;
  WindowForm window;
  Value scale;

  bool admits(const Varying& v) const {
    return ttl.admits(v.ttl) && admits_value(mss, v.mss) && window.admits(v) && admits_value(scale, v.scale);
  }
};

// The search in one group: the candidates are every combination of the
// fields' forms (the values of the attack SYNs not yet covered), and the
// group's SYNs are folded into cells of SYNs that every candidate treats
// alike: the same forms admit them, and they are covered (attack) or hit
// (baseline) by the signatures taken, or not.
class GroupSearch {
 public:
  struct Candidate {
    Widened fields;
    std::uint32_t required;             // the bits a cell's mask must have
    unsigned width;                     // how much it admits, to prefer the narrowest
    std::size_t matched = 0, hits = 0;  // attack and baseline SYNs, alone
    std::size_t gain = 0, added = 0;    // not yet covered, not yet hit
  };

  GroupSearch(const Group& attack, const Group* baseline, const std::vector<Widened>& taken)
      : attack_(&attack), baseline_(baseline), taken_(taken) {
    auto covered = [&](const Varying& v) {
      return std::any_of(taken_.begin(), taken_.end(), [&](const Widened& w) { return w.admits(v); });
    };
    std::vector<unsigned> ttls;
    std::unordered_map<unsigned, std::size_t> mss, scale, sizes, mss_multipliers, mtu_multipliers;
    for (const auto& [word, count] : attack.tuples) {
      Varying v = Varying::unpack(word);
      if (covered(v)) continue;
      ttls.push_back(v.ttl);
      mss[v.mss] += count;
      scale[v.scale] += count;
      sizes[v.window] += count;
      if (v.window_kind == 1) mss_multipliers[v.multiplier] += count;
      if (v.window_kind == 2) mtu_multipliers[v.multiplier] += count;
    }
    ttls_ = ttl_forms(ttls, attack.exact.ip_option_length);
    for (unsigned value : most_frequent(mss, kMssValues)) mss_.push_back(value);
    mss_.push_back(std::nullopt);
    for (unsigned value : most_frequent(scale, kScaleValues)) scales_.push_back(value);
    scales_.push_back(std::nullopt);
    for (unsigned value : most_frequent(sizes, kWindowSizes)) windows_.push_back({WindowSize::Kind::Exact, value});
    for (unsigned value : most_frequent(mss_multipliers, kWindowMultipliers)) {
      windows_.push_back({WindowSize::Kind::MssMultiple, value});
    }
    for (unsigned value : most_frequent(mtu_multipliers, kWindowMultipliers)) {
      windows_.push_back({WindowSize::Kind::MtuMultiple, value});
    }
    windows_.push_back({WindowSize::Kind::Any, 0});

    std::unordered_map<std::uint32_t, std::size_t> cell_of;
    auto add = [&](std::uint64_t word, std::size_t count, bool is_attack) {
      Varying v = Varying::unpack(word);
      std::uint32_t mask = this->mask(v) | (covered(v) ? kTakenBit : 0);
      auto [at, inserted] = cell_of.try_emplace(mask, cells_.size());
      if (inserted) cells_.push_back({mask});
      (is_attack ? cells_[at->second].attack : cells_[at->second].baseline) += count;
    };
    for (const auto& [word, count] : attack.tuples) add(word, count, true);
    if (baseline) {
      for (const auto& [word, count] : baseline->tuples) add(word, count, false);
    }

    if (ttls_.empty()) return;  // all covered, or none coverable
    for (std::size_t t = 0; t < ttls_.size(); ++t) {
      for (std::size_t m = 0; m < mss_.size(); ++m) {
        for (std::size_t w = 0; w < windows_.size(); ++w) {
          for (std::size_t s = 0; s < scales_.size(); ++s) {
            Candidate c{{ttls_[t], mss_[m], windows_[w], scales_[s]},
                        1u << t | 1u << (kMssBit + m) | 1u << (kWindowBit + w) | 1u << (kScaleBit + s),
                        width(t, m, w, s)};
            for (const Cell& cell : cells_) {
              if ((cell.mask & c.required) != c.required) continue;
              c.matched += cell.attack;
              c.hits += cell.baseline;
              if (!(cell.mask & kTakenBit)) c.gain += cell.attack, c.added += cell.baseline;
            }
            if (c.gain > 0) candidates_.push_back(c);
          }
        }
      }
    }
  }

  const std::vector<Candidate>& candidates() const { return candidates_; }

  // The search again, with the candidate taken.
  GroupSearch with(const Candidate& taken) const {
    std::vector<Widened> more = taken_;
    more.push_back(taken.fields);
    return GroupSearch(*attack_, baseline_, more);
  }

  std::string text(const Candidate& c) const {
    return signature_text(attack_->exact, c.fields.ttl, c.fields.mss, c.fields.window, c.fields.scale);
  }

 private:
  // Bits of a cell's mask: which TTL forms (0..7), MSS forms (8..11), window
  // forms (12..19) and scale forms (20..23) admit its SYNs, and whether a
  // signature taken matches them.
  static constexpr unsigned kMssBit = 8, kWindowBit = 12, kScaleBit = 20;
  static constexpr std::uint32_t kTakenBit = 1u << 31;

  struct Cell {
    std::uint32_t mask;
    std::size_t attack = 0, baseline = 0;
  };

  std::uint32_t mask(const Varying& v) const {
    std::uint32_t bits = 0;
    for (std::size_t i = 0; i < ttls_.size(); ++i) bits |= std::uint32_t{ttls_[i].admits(v.ttl)} << i;
    for (std::size_t i = 0; i < mss_.size(); ++i) bits |= std::uint32_t{admits_value(mss_[i], v.mss)} << (kMssBit + i);
    for (std::size_t i = 0; i < windows_.size(); ++i) {
      bits |= std::uint32_t{windows_[i].admits(v)} << (kWindowBit + i);
    }
    for (std::size_t i = 0; i < scales_.size(); ++i) {
      bits |= std::uint32_t{admits_value(scales_[i], v.scale)} << (kScaleBit + i);
    }
    return bits;
  }

  // Widening the TTL costs least (floods randomise it), then the window's
  // multiple, then a '*'.
  unsigned width(std::size_t t, std::size_t m, std::size_t w, std::size_t s) const {
    unsigned window = windows_[w].kind == WindowSize::Kind::Exact ? 0
                      : windows_[w].kind == WindowSize::Kind::Any ? 2000
                                                                  : 500;
    return ttls_[t].width() + (mss_[m] ? 0 : 1000) + window + (scales_[s] ? 0 : 1000);
  }

  const Group* attack_;
  const Group* baseline_;
  std::vector<Widened> taken_;
  std::vector<TtlForm> ttls_;
  std::vector<Value> mss_;
  std::vector<WindowForm> windows_;
  std::vector<Value> scales_;
  std::vector<Cell> cells_;
  std::vector<Candidate> candidates_;
};

}  // namespace

struct SynSample::Groups {
  // Keyed: the captures come from strangers, who could otherwise fill them
  // with signatures of one hash.
  std::unordered_map<SignatureFields, std::uint32_t, FieldsHash, FieldsEqual> index;
  std::vector<Group> list;
  std::size_t total = 0;

  const Group* find(const SignatureFields& exact) const {
    auto at = index.find(exact);
    return at == index.end() ? nullptr : &list[at->second];
  }
};

SynSample::SynSample() : groups_(std::make_unique<Groups>()) {}
SynSample::~SynSample() = default;
SynSample::SynSample(SynSample&&) noexcept = default;
SynSample& SynSample::operator=(SynSample&&) noexcept = default;

void SynSample::add(const PacketFacts& facts) {
  SignatureFields exact = signature_fields(facts);
  Varying varying{facts.ttl, facts.window_scale, exact.window_kind, facts.mss, facts.window,
                  exact.window_kind ? exact.window : 0};
  exact.ttl = 0;
  exact.window_scale = 0;
  exact.mss_wildcard = 0;
  exact.window_kind = 0;
  exact.mss = 0;
  exact.window = 0;
  auto [at, inserted] = groups_->index.try_emplace(exact, static_cast<std::uint32_t>(groups_->list.size()));
  if (inserted) groups_->list.push_back({exact, {}, 0});
  Group& group = groups_->list[at->second];
  ++group.tuples[varying.pack()];
  ++group.total;
  ++groups_->total;
}

std::size_t SynSample::total() const { return groups_->total; }

namespace {

// Attack SYNs that no signature suggest can write separates from the
// baseline: the narrowest one for them (their TTL window, or the random TTL
// form when no window holds it; MSS, window and scale exact) already matches
// more baseline SYNs than allowed.
void count_inseparable(const Group& attack, const Group& baseline, Suggestion& out) {
  // Baseline SYNs by what the narrowest signatures read: TTL, MSS, window, scale.
  std::unordered_map<std::uint64_t, std::size_t> seen;
  for (const auto& [word, count] : baseline.tuples) {
    Varying v = Varying::unpack(word);
    v.window_kind = v.multiplier = 0;
    seen[v.pack()] += count;
  }
  auto hits = [&](const TtlForm& ttl, Varying v) {
    std::size_t sum = 0;
    v.window_kind = v.multiplier = 0;
    for (unsigned t = 0; t <= ttl.initial; ++t) {
      if (!ttl.admits(t)) continue;
      v.ttl = t;
      if (auto at = seen.find(v.pack()); at != seen.end()) sum += at->second;
    }
    return sum;
  };
  // The narrowest signatures' hits and attack SYNs, by their text.
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> narrowest;
  for (const auto& [word, count] : attack.tuples) {
    Varying v = Varying::unpack(word);
    std::optional<TtlForm> best;
    std::size_t fewest = 0;
    for (unsigned initial : kInitialTtls) {
      TtlForm window{initial, false};
      if (!window.admits(v.ttl)) continue;
      std::size_t n = hits(window, v);
      if (!best || n < fewest) best = window, fewest = n;
    }
    if (!best && attack.exact.ip_option_length == 0) {
      best = TtlForm{initial_ttl(v.ttl), true};
      fewest = hits(*best, v);
    }
    if (!best || fewest <= out.allowance) continue;
    out.inseparable += count;
    std::string text = signature_text(attack.exact, *best, v.mss, {WindowSize::Kind::Exact, v.window}, v.scale);
    auto& [hit, syns] = narrowest[text];
    hit = fewest;
    syns += count;
  }
  // The example: the narrowest signature of the most such SYNs (over every group).
  for (const auto& [text, entry] : narrowest) {
    if (entry.second > out.inseparable_example_syns ||
        (entry.second == out.inseparable_example_syns && text < out.inseparable_example)) {
      out.inseparable_example = text;
      out.inseparable_example_hits = entry.first;
      out.inseparable_example_syns = entry.second;
    }
  }
}

}  // namespace

Suggestion suggest(const SynSample& attack, const SynSample& baseline, const SuggestOptions& options) {
  Suggestion out;
  out.attack_syns = attack.total();
  out.baseline_syns = baseline.total();
  double share = std::clamp(options.max_collateral, 0.0, 1.0) * static_cast<double>(out.baseline_syns);
  // A hair over, so that 1% of 100 SYNs is 1 despite rounding.
  out.allowance = static_cast<std::size_t>(std::floor(share + 1e-9));

  const auto& groups = attack.groups().list;
  for (const Group& group : groups) {
    if (const Group* normal = baseline.groups().find(group.exact)) count_inseparable(group, *normal, out);
  }

  std::vector<const Group*> largest;
  for (const Group& group : groups) largest.push_back(&group);
  std::size_t searched = std::min(kMaxGroupsSearched, std::max(kMinGroupsSearched, 4 * options.max_signatures));
  searched = std::min(searched, largest.size());
  std::partial_sort(largest.begin(), largest.begin() + static_cast<std::ptrdiff_t>(searched), largest.end(),
                    [](const Group* a, const Group* b) { return a->total > b->total; });
  std::vector<GroupSearch> searches;
  searches.reserve(searched);
  for (std::size_t i = 0; i < searched; ++i) {
    searches.emplace_back(*largest[i], baseline.groups().find(largest[i]->exact), std::vector<Widened>{});
  }

  // A candidate may give up this many attack SYNs to the best one for being
  // narrower: a few stray SYNs that share a tool's layout should not widen
  // its signature to '*' (and onto real clients).
  const std::size_t tolerance = out.attack_syns / kStrayShare;
  while (out.signatures.size() < options.max_signatures && out.covered < out.attack_syns) {
    auto allowed = [&](const GroupSearch::Candidate& c) { return out.baseline_hit + c.added <= out.allowance; };
    std::size_t most = 0;
    for (const GroupSearch& search : searches) {
      for (const auto& c : search.candidates()) {
        if (allowed(c)) most = std::max(most, c.gain);
      }
    }
    GroupSearch* best_search = nullptr;
    const GroupSearch::Candidate* best = nullptr;
    for (GroupSearch& search : searches) {
      for (const auto& c : search.candidates()) {
        if (!allowed(c) || c.gain + tolerance < most) continue;
        bool better = !best || c.added < best->added ||
                      (c.added == best->added && (c.width < best->width || (c.width == best->width && c.gain > best->gain)));
        if (better) best = &c, best_search = &search;
      }
    }
    if (!best) break;
    GroupSearch::Candidate taken = *best;
    out.signatures.push_back({best_search->text(taken), taken.matched, taken.hits});
    out.covered += taken.gain;
    out.baseline_hit += taken.added;
    *best_search = best_search->with(taken);
  }
  return out;
}

}  // namespace p0fbpf
