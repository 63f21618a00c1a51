#include "p0fbpf/overlap.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "passes/lower.hpp"
#include "p0fbpf/quirks.hpp"
#include "p0fbpf/tcp.hpp"
#include "p0f/window.hpp"

namespace p0fbpf {
namespace {

constexpr unsigned kTtlDistance = 35;  // docs/semantics.md §3.1, 7
constexpr unsigned kMaxWindow = 0xffff;

struct TtlRange {
  unsigned low, high;
};

TtlRange ttl_range(const InitialTtl& ttl) {
  if (ttl.kind == InitialTtl::Kind::Random || ttl.initial <= kTtlDistance) return {0, ttl.initial};
  return {ttl.initial - kTtlDistance, ttl.initial};
}

bool covers(const Signature& sig, int version) {
  return sig.version == IpVersion::Any || (sig.version == IpVersion::V6) == (version == 6);
}

// The quirks a packet of this version must have: a `*` signature drops the
// other version's quirks, but not 0+ (docs/semantics.md §3.3). nullopt when
// one of them cannot exist in that version.
std::optional<std::uint32_t> quirks_for(const Signature& sig, int version) {
  std::uint32_t mask = 0;
  bool ipv6 = version == 6;
  for (const QuirkItem& item : sig.quirks) {
    const QuirkFacts& facts = quirk_facts(item.quirk);
    if (!quirk_exists_in(item.quirk, ipv6)) {
      if (sig.version == IpVersion::Any && !facts.exact_keeps_for_other_version) continue;
      return std::nullopt;
    }
    mask |= 1u << static_cast<int>(item.quirk);
  }
  return mask;
}

bool same_layout(const Signature& a, const Signature& b) {
  if (a.options.size() != b.options.size()) return false;
  for (std::size_t i = 0; i < a.options.size(); ++i) {
    if (a.options[i].kind != b.options[i].kind) return false;
    if (a.options[i].kind == tcp_option::kEol && a.options[i].eol_padding != b.options[i].eol_padding) return false;
  }
  return true;
}

bool has_option(const Signature& sig, std::uint8_t kind) {
  return std::any_of(sig.options.begin(), sig.options.end(), [&](const TcpOption& o) { return o.kind == kind; });
}

// The TCP header's length for the layout, variable options at their smallest.
unsigned tcp_header_length(const Signature& sig) {
  unsigned bytes = 0;
  for (const TcpOption& option : sig.options) {
    switch (option.kind) {
      case tcp_option::kEol: bytes += 1 + option.eol_padding; break;
      case tcp_option::kNop: bytes += 1; break;
      case tcp_option::kMss: bytes += 4; break;
      case tcp_option::kWindowScale: bytes += 3; break;
      case tcp_option::kSackPermitted: bytes += 2; break;
      case tcp_option::kSack: bytes += 10; break;
      case tcp_option::kTimestamp: bytes += 10; break;
      default: bytes += 2; break;
    }
  }
  return 20 + (bytes + 3) / 4 * 4;
}

// What the window check reads besides the window.
struct WindowContext {
  unsigned mss, ts1, header_total;
  bool ipv6;
};

bool window_admits(const WindowSize& form, unsigned window, const WindowContext& c) {
  switch (form.kind) {
    case WindowSize::Kind::Any: return true;
    case WindowSize::Kind::Exact: return window == form.value;
    case WindowSize::Kind::Modulo: return window % form.value == 0;
    case WindowSize::Kind::MssMultiple:
    case WindowSize::Kind::MtuMultiple: break;
  }
  auto found = detect_window_multiplier(window, c.mss, c.ts1, c.header_total, c.ipv6);
  return found && found->mtu == (form.kind == WindowSize::Kind::MtuMultiple) && found->value == form.value;
}

// Windows that include one matching the form, if any matches at all: the
// value, the multiples of every divisor p0f tries (docs/semantics.md §2.8),
// or 0, which `*` and `%K` both take.
void window_candidates(const WindowSize& form, const WindowContext& c, std::vector<unsigned>& out) {
  switch (form.kind) {
    case WindowSize::Kind::Exact: out.push_back(form.value); return;
    case WindowSize::Kind::Any:
    case WindowSize::Kind::Modulo: out.push_back(0); return;
    case WindowSize::Kind::MssMultiple:
    case WindowSize::Kind::MtuMultiple: break;
  }
  const unsigned divisors[] = {c.mss, c.mss - 12, 1460, 1448, 1440, 1428, c.mss + 40, c.mss + c.header_total,
                               c.mss + 60, 1500};
  for (unsigned d : divisors) {
    if (d > 0 && d <= kMaxWindow && form.value <= kMaxWindow / d) out.push_back(form.value * d);
  }
}

bool uses_mss(const WindowSize& form) {
  return form.kind == WindowSize::Kind::MssMultiple || form.kind == WindowSize::Kind::MtuMultiple;
}

std::optional<SharedPacket> shared_in_version(const Signature& a, const Signature& b, int version) {
  const bool ipv6 = version == 6;
  auto quirks_a = quirks_for(a, version), quirks_b = quirks_for(b, version);
  if (!quirks_a || !quirks_b || *quirks_a != *quirks_b) return std::nullopt;
  const std::uint32_t quirks = *quirks_a;
  auto has = [&](Quirk q) { return (quirks & (1u << static_cast<int>(q))) != 0; };

  SharedPacket packet;
  packet.ip_version = version;
  packet.payload = a.payload == PayloadClass::NonZero || b.payload == PayloadClass::NonZero;
  // Option length: IPv6 packets have 0 (docs/semantics.md §4.1).
  auto olen_a = olen_as_p0f_reads_it(a), olen_b = olen_as_p0f_reads_it(b);
  if (ipv6) {
    if (olen_a.value_or(0) != 0 || olen_b.value_or(0) != 0) return std::nullopt;
  } else {
    if (olen_a && olen_b && *olen_a != *olen_b) return std::nullopt;
    packet.ip_option_length = olen_a ? *olen_a : olen_b.value_or(0);
  }

  TtlRange ra = ttl_range(a.ttl), rb = ttl_range(b.ttl);
  unsigned low = std::max(ra.low, rb.low), high = std::min(ra.high, rb.high);
  if (low > high) return std::nullopt;
  packet.ttl = high;

  // Window scale: the value either gives; 0 without a ws option; above 14
  // exactly with exws.
  const bool has_ws = has_option(a, tcp_option::kWindowScale);
  if (a.scale.value && b.scale.value && *a.scale.value != *b.scale.value) return std::nullopt;
  if (auto fixed = a.scale.value ? a.scale.value : b.scale.value) {
    packet.scale = *fixed;
  } else {
    packet.scale = has(Quirk::ExcessiveScale) ? 15 : 0;
  }
  if (!has_ws && (packet.scale != 0 || has(Quirk::ExcessiveScale))) return std::nullopt;
  if (has_ws && (packet.scale > 14) != has(Quirk::ExcessiveScale)) return std::nullopt;

  // MSS and window, tried together: the window's multiplier depends on the MSS.
  const bool has_mss = has_option(a, tcp_option::kMss);
  if (a.mss.value && b.mss.value && *a.mss.value != *b.mss.value) return std::nullopt;
  std::optional<unsigned> fixed_mss = a.mss.value ? a.mss.value : b.mss.value;
  if (!has_mss && fixed_mss.value_or(0) != 0) return std::nullopt;
  const unsigned first_mss = fixed_mss.value_or(0);
  // Every MSS only when both are free and some window depends on it.
  const unsigned last_mss = !fixed_mss && has_mss && (uses_mss(a.window) || uses_mss(b.window)) ? 0xffff : first_mss;
  WindowContext context{0, has_option(a, tcp_option::kTimestamp) && !has(Quirk::ZeroTs1) ? 1u : 0u,
                        (ipv6 ? 40 : 20 + packet.ip_option_length) + tcp_header_length(a), ipv6};
  std::vector<unsigned> windows;
  for (unsigned mss = first_mss; mss <= last_mss; ++mss) {
    context.mss = mss;
    windows.clear();
    window_candidates(a.window, context, windows);
    window_candidates(b.window, context, windows);
    for (unsigned window : windows) {
      if (window <= kMaxWindow && window_admits(a.window, window, context) && window_admits(b.window, window, context)) {
        packet.mss = mss;
        packet.window = window;
        return packet;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<SharedPacket> shared_packet(const Signature& a, const Signature& b) {
  if (!same_layout(a, b)) return std::nullopt;
  if (a.payload != b.payload && a.payload != PayloadClass::Any && b.payload != PayloadClass::Any) return std::nullopt;
  for (int version : {4, 6}) {
    if (!covers(a, version) || !covers(b, version)) continue;
    if (auto packet = shared_in_version(a, b, version)) return packet;
  }
  return std::nullopt;
}

}  // namespace p0fbpf
