#include "p0fbpf/packet.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>

#include "base/big_endian.hpp"
#include "p0f/window.hpp"

namespace p0fbpf {
namespace {

constexpr std::size_t kMinTcp4 = 40;
constexpr std::size_t kMinTcp6 = 60;
constexpr std::uint32_t kMaxDistance = 35;
constexpr std::uint16_t kSendsynMss = 1331;  // p0f-sendsyn's probe MSS

using namespace tcp_flag;

void set(PacketFacts& f, Quirk q) { f.quirks |= 1u << static_cast<int>(q); }

// p0f's option walk, from the first option byte to the end of the header.
void walk_options(const std::uint8_t* at, const std::uint8_t* end, PacketFacts& f) {
  while (at < end && f.option_count < kMaxTcpOptions) {
    std::uint8_t kind = *at++;
    f.layout[f.option_count++] = kind;
    switch (kind) {
      case tcp_option::kEol:
        f.eol_padding = static_cast<std::uint32_t>(end - at);
        // The scan stops one byte past the first non-zero byte.
        while (at < end && !*at++) {
        }
        if (at != end) {
          set(f, Quirk::OptionDataAfterEol);
          at = end;
        }
        break;
      case tcp_option::kNop:
        break;
      case tcp_option::kMss:
        if (at + 3 > end) goto abort;
        if (*at != 4) set(f, Quirk::BadOptions);
        f.mss = be16(at + 1);
        at += 3;
        break;
      case tcp_option::kWindowScale:
        if (at + 2 > end) goto abort;
        if (*at != 3) set(f, Quirk::BadOptions);
        f.window_scale = at[1];
        if (f.window_scale > 14) set(f, Quirk::ExcessiveScale);
        at += 2;
        break;
      case tcp_option::kSackPermitted:
        if (at + 1 > end) goto abort;
        if (*at != 2) set(f, Quirk::BadOptions);
        at += 1;
        break;
      case tcp_option::kSack:
        if (at == end || *at < 10 || *at > 34 || at - 1 + *at > end) goto abort;
        at += *at - 1;
        break;
      case tcp_option::kTimestamp:
        if (at + 9 > end) goto abort;
        if (*at != 10) set(f, Quirk::BadOptions);
        f.ts1 = be32(at + 1);
        if (!f.ts1) set(f, Quirk::ZeroTs1);
        if (f.tcp_type == kSyn && be32(at + 5)) set(f, Quirk::NonZeroTs2);
        at += 9;
        break;
      default:
        if (at == end || *at < 2 || *at > 40 || at - 1 + *at > end) goto abort;
        at += *at - 1;
        break;
    }
  }
  if (at == end) return;
abort:
  set(f, Quirk::BadOptions);
}

}  // namespace

std::optional<PacketFacts> analyze_packet(const std::uint8_t* data, std::size_t length) {
  if (length < kMinTcp4) return std::nullopt;
  PacketFacts f;
  const std::uint8_t* tcp = nullptr;
  if (data[0] >> 4 == 4) {
    std::size_t header = (data[0] & 0x0f) * 4u;
    std::uint16_t flags_offset = be16(data + 6);
    std::size_t total = be16(data + 2);
    if (length > total) length = total;
    if (length < kMinTcp4 || header < 20 || total > length || header + 20 > length) return std::nullopt;
    if (data[9] != 6) return std::nullopt;
    if (flags_offset & ~0xc000u) return std::nullopt;  // a fragment
    f.ip_version = 4;
    f.ip_option_length = static_cast<std::uint32_t>(header - 20);
    f.ttl = data[8];
    if (data[1] & 0x03) set(f, Quirk::Ecn);
    if (flags_offset & 0x8000) set(f, Quirk::MustBeZero);
    if (flags_offset & 0x4000) {
      set(f, Quirk::DontFragment);
      if (be16(data + 4)) set(f, Quirk::NonZeroId);
    } else if (!be16(data + 4)) {
      set(f, Quirk::ZeroId);
    }
    f.header_total = static_cast<std::uint32_t>(header);
    tcp = data + header;
    length -= header;
  } else if (data[0] >> 4 == 6) {
    std::uint32_t first = be32(data);
    std::size_t total = be16(data + 4) + 40u;
    if (length > total) length = total;
    if (length < kMinTcp6 || total > length) return std::nullopt;
    if (data[6] != 6) return std::nullopt;
    f.ip_version = 6;
    f.ttl = data[7];
    if (first & 0xfffff) set(f, Quirk::FlowLabel);
    if ((first >> 20) & 0x03) set(f, Quirk::Ecn);
    f.header_total = 40;
    tcp = data + 40;
    length -= 40;
  } else {
    return std::nullopt;
  }

  std::size_t doff = (tcp[12] >> 4) * 4u;
  if (doff < 20 || doff > length) return std::nullopt;
  f.header_total += static_cast<std::uint32_t>(doff);
  std::uint8_t flags = tcp[13];
  f.tcp_type = flags & (kSyn | kAck | kFin | kRst);
  if (((flags & kSyn) && (flags & (kFin | kRst))) || ((flags & kFin) && (flags & kRst)) || !f.tcp_type) {
    return std::nullopt;
  }
  f.window = be16(tcp + 14);
  if ((flags & (kEce | kCwr)) || (tcp[12] & 0x01)) set(f, Quirk::Ecn);
  if (!be32(tcp + 4)) set(f, Quirk::ZeroSeq);
  if (flags & kAck) {
    if (!be32(tcp + 8)) set(f, Quirk::ZeroAck);
  } else if ((tcp[8] & 0x01) && !(flags & kRst)) {
    // p0f 3.09b: RD32(ack) & 1 on a little-endian host, the first byte's low bit.
    set(f, Quirk::NonZeroAck);
  }
  if (flags & kUrg) set(f, Quirk::UrgentFlag);
  else if (be16(tcp + 18)) set(f, Quirk::NonZeroUrgentPtr);
  if (flags & kPsh) set(f, Quirk::PushFlag);
  f.payload = doff != length;
  walk_options(tcp + 20, tcp + doff, f);
  return f;
}

namespace {

// A raw_sig's text at its longest: every number at its widest, every option
// an "eol+N", every quirk.
constexpr std::size_t longest_signature() {
  constexpr std::size_t kNumber = 10;  // a 32-bit value in decimal
  std::size_t quirks = 0;
  for (const QuirkFacts& quirk : kQuirks) quirks += std::char_traits<char>::length(quirk.name) + 1;
  // version:ttl+distance:olen:mss:mtu*window,scale:options:quirks:payload
  return 3 + 1 + 3 + 1 + 2 + 1 + kNumber + 1 + kNumber + 1 + 4 + kNumber + 1 + 3 + 1 +
         kMaxTcpOptions * (4 + 1 + kNumber + 1) + 1 + quirks + 2;
}

// The quirks a packet's raw_sig shows: all but the extensions.
constexpr std::uint32_t shown_quirks() {
  std::uint32_t mask = 0;
  for (const QuirkFacts& quirk : kQuirks) {
    if (!quirk.loose_only) mask |= 1u << static_cast<int>(quirk.quirk);
  }
  return mask;
}

// Writing into a buffer that holds the longest signature, through a local
// pointer: fingerprinting formats tens of thousands, and std::string's
// checks per character add up.
char* put(char* at, unsigned value) { return std::to_chars(at, at + 10, value).ptr; }

char* put(char* at, std::string_view text) {
  std::memcpy(at, text.data(), text.size());
  return at + text.size();
}

}  // namespace

SignatureFields signature_fields(const PacketFacts& f) {
  SignatureFields s;
  s.ip_version = static_cast<std::uint8_t>(f.ip_version);
  s.ttl = f.ttl;
  s.ip_option_length = f.ip_option_length;
  s.mss_wildcard = f.mss == kSendsynMss && f.is_syn_ack();
  s.mss = f.mss;
  auto multiplier = detect_window_multiplier(f.window, f.mss, f.ts1, f.header_total, f.ip_version == 6);
  s.window_kind = multiplier ? (multiplier->mtu ? 2 : 1) : 0;
  s.window = multiplier ? multiplier->value : f.window;
  s.window_scale = f.window_scale;
  s.option_count = f.option_count;
  std::copy(f.layout.begin(), f.layout.begin() + f.option_count, s.layout.begin());
  s.eol_padding = f.eol_padding;
  s.quirks = f.quirks;
  s.payload = f.payload;
  return s;
}

void append_signature(const SignatureFields& s, std::string& out) {
  char line[longest_signature()];
  char* at = line;
  std::uint32_t ttl = s.ttl;
  std::uint32_t distance = ttl <= 32 ? 32 - ttl : ttl <= 64 ? 64 - ttl : ttl <= 128 ? 128 - ttl : 255 - ttl;
  at = put(at, s.ip_version);
  *at++ = ':';
  at = put(at, ttl);
  *at++ = '+';
  if (distance > kMaxDistance) *at++ = '?';
  else at = put(at, distance);
  *at++ = ':';
  at = put(at, s.ip_option_length);
  *at++ = ':';
  if (s.mss_wildcard) *at++ = '*';
  else at = put(at, s.mss);
  *at++ = ':';
  if (s.window_kind) at = put(at, std::string_view(s.window_kind == 2 ? "mtu*" : "mss*"));
  at = put(at, s.window);
  *at++ = ',';
  at = put(at, s.window_scale);
  *at++ = ':';
  for (std::size_t i = 0; i < s.option_count; ++i) {
    if (i) *at++ = ',';
    std::string_view name = tcp_option::name(s.layout[i]);
    if (name.empty()) {
      *at++ = '?';
      at = put(at, s.layout[i]);
    } else {
      at = put(at, name);
      if (s.layout[i] == tcp_option::kEol) {
        *at++ = '+';
        at = put(at, s.eol_padding);
      }
    }
  }
  *at++ = ':';
  // kQuirks is indexed by Quirk: the set bits from the lowest are in the
  // table's order, which is p0f's. Packets never get the extensions.
  static_assert(kQuirkCount <= 32, "quirks are bits of a 32-bit word");
  bool first = true;
  for (std::uint32_t bits = s.quirks & shown_quirks(); bits != 0; bits &= bits - 1) {
    if (!first) *at++ = ',';
    at = put(at, std::string_view(kQuirks[static_cast<std::size_t>(std::countr_zero(bits))].name));
    first = false;
  }
  at = put(at, std::string_view(s.payload ? ":+" : ":0"));
  out.append(line, at);
}

std::string raw_signature(const PacketFacts& f) {
  std::string out;
  out.reserve(96);
  append_signature(signature_fields(f), out);
  return out;
}

}  // namespace p0fbpf
