#include "p0fbpf/labeller.hpp"

#include <algorithm>

#include "p0fbpf/parser.hpp"

namespace p0fbpf {
namespace {

// p0f's MAX_DIST: the hops a TTL may have lost and still match strictly.
constexpr unsigned kMaxDistance = 35;

constexpr std::uint32_t bit(Quirk q) { return 1u << static_cast<int>(q); }

// The quirks a difference in which is only fuzzy: these gone, or those come.
constexpr std::uint32_t kMayGo = bit(Quirk::DontFragment) | bit(Quirk::NonZeroId);
constexpr std::uint32_t kMayCome = bit(Quirk::ZeroId) | bit(Quirk::Ecn);

// type:class:name:flavor; name and flavor as p0f prints them.
std::string display_name(const std::string& label) {
  std::size_t first = label.find(':');
  std::size_t second = label.find(':', first + 1);
  std::size_t third = label.find(':', second + 1);
  if (third == std::string::npos) return label;
  std::string name = label.substr(second + 1, third - second - 1);
  std::string flavor = label.substr(third + 1);
  return flavor.empty() ? name : name + " " + flavor;
}

std::string_view class_of(const std::string& label) {
  std::size_t first = label.find(':');
  std::size_t second = label.find(':', first + 1);
  if (second == std::string::npos) return {};
  return std::string_view(label).substr(first + 1, second - first - 1);
}

}  // namespace

std::string match_flags(const LabelMatch& match) {
  std::string out;
  if (match.generic) out += "generic";
  if (match.fuzzy) out += out.empty() ? "fuzzy" : " fuzzy";
  if (match.random_ttl) out += out.empty() ? "random_ttl" : " random_ttl";
  return out;
}

Labeller::Labeller(const Database& database, Direction direction) {
  for (const DatabaseLabel& label : database.labels) {
    if (label.direction != direction) continue;
    for (std::size_t i = 0; i < label.signatures.size(); ++i) {
      Result<Signature> parsed = parse_signature(label.signatures[i].text);
      if (!parsed) continue;
      std::uint32_t quirks = 0;
      for (const QuirkItem& q : parsed->quirks) quirks |= bit(q.quirk);
      entries_.push_back({&label, i, std::move(parsed).value(), quirks, label.text[0] == 'g',
                          class_of(label.text) == "!"});
    }
  }
}

LabelMatch Labeller::result(const Entry& entry, bool fuzzy) const {
  LabelMatch m;
  m.label = entry.label;
  m.signature = entry.index;
  m.fuzzy = fuzzy;
  m.generic = entry.generic;
  m.application = entry.application;
  m.random_ttl = entry.signature.ttl.kind == InitialTtl::Kind::Random;
  m.name = display_name(entry.label->text);
  return m;
}

std::optional<LabelMatch> Labeller::match(const SignatureFields& fields, std::uint16_t window) const {
  const Entry* fuzzy_match = nullptr;
  const Entry* generic_match = nullptr;
  const bool ipv4 = fields.ip_version == 4;
  // The multiple p0f detected (signature_fields keeps it): -1 for none.
  const long multiple = fields.window_kind ? static_cast<long>(fields.window) : -1;
  const bool mtu = fields.window_kind == 2;
  for (const Entry& e : entries_) {
    const Signature& s = e.signature;
    // The same option kinds in the same order.
    if (s.options.size() != fields.option_count) continue;
    bool same_layout = true;
    for (std::size_t i = 0; i < s.options.size(); ++i) same_layout &= s.options[i].kind == fields.layout[i];
    if (!same_layout) continue;

    bool fuzzy = false;
    std::uint32_t quirks = e.quirks;
    if (s.version == IpVersion::Any) {
      quirks &= ipv4 ? ~bit(Quirk::FlowLabel) : ~(bit(Quirk::DontFragment) | bit(Quirk::NonZeroId) | bit(Quirk::ZeroId));
    }
    if (quirks != fields.quirks) {
      std::uint32_t gone = (quirks ^ fields.quirks) & quirks;
      std::uint32_t come = (quirks ^ fields.quirks) & fields.quirks;
      // Once a fuzzy match is found, another can only lose to it (p0f's shortcut).
      if (fuzzy_match || (gone & ~kMayGo) || (come & ~kMayCome)) continue;
      fuzzy = true;
    }

    unsigned eol_padding = 0;
    for (const TcpOption& o : s.options) {
      if (o.kind == tcp_option::kEol) eol_padding = o.eol_padding;
    }
    if (eol_padding != fields.eol_padding) continue;
    if (s.olen.bytes && *s.olen.bytes != fields.ip_option_length) continue;

    const unsigned ittl = s.ttl.initial;
    if (s.ttl.kind == InitialTtl::Kind::Random) {
      if (ittl < fields.ttl) continue;
    } else if (ittl < fields.ttl || ittl - fields.ttl > kMaxDistance) {
      fuzzy = true;
    }

    if (s.mss.value && *s.mss.value != fields.mss) continue;
    if (s.scale.value && *s.scale.value != fields.window_scale) continue;
    if (s.payload != PayloadClass::Any && (s.payload == PayloadClass::NonZero) != (fields.payload != 0)) continue;

    switch (s.window.kind) {
      case WindowSize::Kind::Exact:
        if (s.window.value != window) continue;
        break;
      case WindowSize::Kind::Modulo:
        if (s.window.value == 0 || window % s.window.value != 0) continue;
        break;
      case WindowSize::Kind::MssMultiple:
        if (mtu || static_cast<long>(s.window.value) != multiple) continue;
        break;
      case WindowSize::Kind::MtuMultiple:
        if (!mtu || static_cast<long>(s.window.value) != multiple) continue;
        break;
      case WindowSize::Kind::Any:
        break;
    }

    if (!fuzzy) {
      if (!e.generic) return result(e, false);
      if (!generic_match) generic_match = &e;
    } else if (!fuzzy_match) {
      fuzzy_match = &e;
    }
  }
  if (generic_match) return result(*generic_match, false);
  // p0f gives a tool's label (class !) no fuzzy match.
  if (fuzzy_match && !fuzzy_match->application) return result(*fuzzy_match, true);
  return std::nullopt;
}

}  // namespace p0fbpf
