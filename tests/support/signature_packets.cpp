#include "signature_packets.hpp"

#include <algorithm>

namespace p0fbpf::testing {
namespace {

unsigned pick(Random& rng, unsigned lo, unsigned hi) {
  return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
}

bool chance(Random& rng, double p) { return std::bernoulli_distribution(p)(rng); }

void put16(std::vector<std::uint8_t>& out, unsigned v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, v >> 16);
  put16(out, v & 0xffff);
}

std::uint32_t nonzero32(Random& rng) { return static_cast<std::uint32_t>(pick(rng, 1, 0xffffffffu)); }

// Offsets of the options in a raw option area, walked as p0f does.
struct OptionAt {
  std::uint8_t kind;
  std::size_t offset;
};

std::vector<OptionAt> scan(const std::vector<std::uint8_t>& bytes) {
  std::vector<OptionAt> found;
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::uint8_t kind = bytes[i];
    found.push_back({kind, i});
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= bytes.size() || bytes[i + 1] < 2) break;
    i += bytes[i + 1];
  }
  return found;
}

void option_bytes(std::vector<std::uint8_t>& out, std::uint8_t kind, unsigned mss, unsigned scale,
                  std::uint32_t ts1, std::uint32_t ts2, Random& rng) {
  switch (kind) {
    case 1: out.push_back(1); break;
    case 2: out.insert(out.end(), {2, 4}); put16(out, mss); break;
    case 3: out.insert(out.end(), {3, 3, static_cast<std::uint8_t>(scale)}); break;
    case 4: out.insert(out.end(), {4, 2}); break;
    case 5: {
      unsigned length = 2 + 8 * pick(rng, 1, 4);
      out.insert(out.end(), {5, static_cast<std::uint8_t>(length)});
      for (unsigned i = 2; i < length; ++i) out.push_back(static_cast<std::uint8_t>(pick(rng, 0, 255)));
      break;
    }
    case 8: out.insert(out.end(), {8, 10}); put32(out, ts1); put32(out, ts2); break;
    default: {
      unsigned length = pick(rng, 2, 6);
      out.insert(out.end(), {kind, static_cast<std::uint8_t>(length)});
      for (unsigned i = 2; i < length; ++i) out.push_back(static_cast<std::uint8_t>(pick(rng, 0, 255)));
    }
  }
}

unsigned window_for(const WindowSize& w, unsigned mss, std::uint32_t header_total, Random& rng) {
  switch (w.kind) {
    case WindowSize::Kind::Any: return pick(rng, 0, 65535);
    case WindowSize::Kind::Exact: return w.value;
    case WindowSize::Kind::Modulo: return w.value * pick(rng, 0, 65535 / w.value);
    case WindowSize::Kind::MssMultiple: return std::min(65535u, w.value * mss);
    case WindowSize::Kind::MtuMultiple:
      return std::min(65535u, w.value * (chance(rng, 0.7) ? mss + 40 : mss + header_total));
  }
  return 0;
}

}  // namespace

PacketSpec matching_packet(const Signature& sig, bool ipv6, bool response, Random& rng) {
  PacketSpec p;
  p.ipv6 = ipv6;
  auto has = [&](Quirk q) { return sig.has(q); };

  unsigned top = sig.ttl.initial;
  unsigned bottom = sig.ttl.kind == InitialTtl::Kind::Random ? 1 : (top > 35 ? top - 35 : 1);
  p.ttl = static_cast<std::uint8_t>(chance(rng, 0.3) ? (chance(rng, 0.5) ? top : bottom) : pick(rng, bottom, top));

  if (!ipv6) {
    unsigned olen = sig.olen.bytes.value_or(4 * pick(rng, 0, 2));
    p.ip_options.assign(olen, 1);  // IPv4 NOP options
    p.fragment = (has(Quirk::DontFragment) ? 0x4000 : 0) | (has(Quirk::MustBeZero) ? 0x8000 : 0);
    bool id_zero = has(Quirk::DontFragment) ? !has(Quirk::NonZeroId) : has(Quirk::ZeroId);
    p.ip_id = id_zero ? 0 : static_cast<std::uint16_t>(pick(rng, 1, 65535));
  } else if (has(Quirk::FlowLabel)) {
    p.flow_label = pick(rng, 1, 0xfffff);
  }

  p.flags = response ? 0x12 : 0x02;
  if (has(Quirk::UrgentFlag)) p.flags |= 0x20;
  if (has(Quirk::PushFlag)) p.flags |= 0x08;
  if (has(Quirk::Ecn)) {
    switch (pick(rng, 0, 2)) {
      case 0: p.tos = ipv6 ? 0x01 : 0x02; break;
      case 1: p.flags |= chance(rng, 0.5) ? 0x40 : 0x80; break;
      default: p.reserved = 0x01; break;
    }
  }
  p.tos |= static_cast<std::uint8_t>(pick(rng, 0, 63) << 2);  // DSCP is free
  p.seq = has(Quirk::ZeroSeq) ? 0 : nonzero32(rng);
  if (response) {
    p.ack = has(Quirk::ZeroAck) ? 0 : nonzero32(rng);
  } else {
    // p0f 3.09b only sees the low bit of the first ack byte.
    std::uint32_t ack = static_cast<std::uint32_t>(pick(rng, 0, 0xffffffffu));
    ack = has(Quirk::NonZeroAck) ? (ack | 0x01000000u) : (ack & ~0x01000000u);
    p.ack = ack;
  }
  if (!has(Quirk::UrgentFlag)) p.urgent = has(Quirk::NonZeroUrgentPtr) ? static_cast<std::uint16_t>(pick(rng, 1, 65535)) : 0;

  unsigned mss = sig.mss.value.value_or(pick(rng, 100, 1460));
  if (!sig.mss.value && sig.window.kind == WindowSize::Kind::MssMultiple) {
    mss = std::min(mss, std::max(100u, 65535 / sig.window.value));
  }
  if (!sig.mss.value && sig.window.kind == WindowSize::Kind::MtuMultiple) {
    mss = std::min(mss, std::max(100u, 65535 / sig.window.value - 60));
  }
  unsigned scale = sig.scale.value.value_or(has(Quirk::ExcessiveScale) ? pick(rng, 15, 255) : pick(rng, 0, 14));
  std::uint32_t ts1 = has(Quirk::ZeroTs1) ? 0 : nonzero32(rng);
  std::uint32_t ts2 = (has(Quirk::NonZeroTs2) && !response) ? nonzero32(rng) : 0;

  std::vector<std::uint8_t> options;
  for (const TcpOption& opt : sig.options) {
    if (opt.kind == 0) {
      options.push_back(0);
      std::vector<std::uint8_t> pad(opt.eol_padding, 0);
      if (has(Quirk::OptionDataAfterEol) && pad.size() >= 2) pad[pick(rng, 0, static_cast<unsigned>(pad.size() - 2))] = static_cast<std::uint8_t>(pick(rng, 1, 255));
      else if (!pad.empty() && chance(rng, 0.3)) pad.back() = static_cast<std::uint8_t>(pick(rng, 1, 255));
      options.insert(options.end(), pad.begin(), pad.end());
      break;
    }
    option_bytes(options, opt.kind, mss, scale, ts1, ts2, rng);
  }
  // Lengthen the last variable-size option so that the layout fills whole
  // 32-bit words, as a real stack's would.
  if (sig.options.empty() || sig.options.back().kind != 0) {
    auto found = scan(options);
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
      if (it->kind == 0 || it->kind == 1 || it->kind == 2 || it->kind == 3 || it->kind == 4 || it->kind == 8) continue;
      std::size_t deficit = (4 - options.size() % 4) % 4;
      unsigned length = options[it->offset + 1];
      if (deficit && length + deficit <= (it->kind == 5 ? 34u : 40u)) {
        options[it->offset + 1] = static_cast<std::uint8_t>(length + deficit);
        options.insert(options.begin() + static_cast<long>(it->offset + length), deficit, 0x5a);
      }
      break;
    }
  }
  if (has(Quirk::BadOptions) && !options.empty()) {
    // Break one length byte, or cut the last option short.
    auto found = scan(options);
    std::vector<std::size_t> fixed;
    for (const auto& at : found) {
      if (at.kind == 2 || at.kind == 3 || at.kind == 4 || at.kind == 8) fixed.push_back(at.offset);
    }
    if (!fixed.empty() && chance(rng, 0.6)) {
      options[fixed[pick(rng, 0, static_cast<unsigned>(fixed.size() - 1))] + 1] ^= 0x01;
    } else if (options.size() > 2 && found.back().kind != 0 && found.back().kind != 1) {
      options.resize(found.back().offset + 1 + pick(rng, 0, 1));
    }
  }
  p.tcp_options = options;
  // p0f reads all of the header: a layout that is not a multiple of 4 bytes
  // gets its padding seen as more options, which is for p0f to judge.
  std::uint32_t header_total = (ipv6 ? 40 : 20 + static_cast<std::uint32_t>(p.ip_options.size())) +
                               20 + static_cast<std::uint32_t>((options.size() + 3) / 4 * 4);
  p.window = static_cast<std::uint16_t>(window_for(sig.window, mss, header_total, rng));

  bool payload = sig.payload == PayloadClass::NonZero || (sig.payload == PayloadClass::Any && chance(rng, 0.5));
  if (payload) p.payload.assign(pick(rng, 1, 40), 0xab);
  return p;
}

PacketSpec mutate(const PacketSpec& original, Random& rng) {
  PacketSpec p = original;
  auto options = scan(p.tcp_options);
  auto find = [&](std::uint8_t kind) -> std::optional<std::size_t> {
    for (const auto& at : options) {
      if (at.kind == kind) return at.offset;
    }
    return std::nullopt;
  };
  auto read_mss = [&]() -> unsigned {
    if (auto at = find(2); at && *at + 3 < p.tcp_options.size()) {
      return (p.tcp_options[*at + 2] << 8) | p.tcp_options[*at + 3];
    }
    return 0;
  };
  auto write_mss = [&](unsigned mss) {
    if (auto at = find(2); at && *at + 3 < p.tcp_options.size()) {
      p.tcp_options[*at + 2] = static_cast<std::uint8_t>(mss >> 8);
      p.tcp_options[*at + 3] = static_cast<std::uint8_t>(mss);
    }
  };
  switch (pick(rng, 0, 33)) {
    case 0: p.ttl = static_cast<std::uint8_t>(p.ttl + 1); break;
    case 1: p.ttl = static_cast<std::uint8_t>(p.ttl - pick(rng, 1, 40)); break;
    case 2: p.ttl = static_cast<std::uint8_t>(std::vector<unsigned>{0, 1, 29, 30, 31, 32, 33, 63, 64, 65, 92, 93, 127, 128, 129, 219, 220, 255}[pick(rng, 0, 17)]); break;
    case 3: p.tos ^= static_cast<std::uint8_t>(1u << pick(rng, 0, 7)); break;
    case 4: p.fragment ^= static_cast<std::uint16_t>(std::vector<unsigned>{0x4000, 0x8000, 0x2000, 0x0001, 0x1000}[pick(rng, 0, 4)]); break;
    case 5: p.ip_id = p.ip_id ? 0 : static_cast<std::uint16_t>(pick(rng, 1, 65535)); break;
    case 6: p.flow_label = p.flow_label ? 0 : pick(rng, 1, 0xfffff); break;
    case 7: p.flags ^= static_cast<std::uint8_t>(1u << pick(rng, 0, 7)); break;
    case 8: p.reserved ^= static_cast<std::uint8_t>(1u << pick(rng, 0, 3)); break;
    case 9: p.seq = p.seq ? 0 : nonzero32(rng); break;
    case 10: p.ack ^= 1u << pick(rng, 0, 31); break;
    case 11: p.ack = p.ack ? 0 : nonzero32(rng); break;
    case 12: p.urgent = p.urgent ? 0 : static_cast<std::uint16_t>(pick(rng, 1, 65535)); break;
    case 13: p.window = static_cast<std::uint16_t>(p.window + (chance(rng, 0.5) ? 1 : -1)); break;
    case 14: {
      // A window that another of p0f's divisors explains.
      unsigned mss = read_mss();
      std::vector<unsigned> divisors = {mss, mss - 12, 1460, 1448, 1440, 1428, mss + 40, mss + 60, mss + 52, 1500};
      unsigned d = divisors[pick(rng, 0, static_cast<unsigned>(divisors.size() - 1))];
      if (d > 0) p.window = static_cast<std::uint16_t>(d * pick(rng, 1, std::max(1u, 65535 / d)));
      break;
    }
    case 15: {
      // An MSS that makes some divisor divide the window.
      unsigned k = pick(rng, 1, 64);
      unsigned base = p.window / k;
      std::vector<unsigned> candidates = {base, base + 12, base - 40, base - 60, base - 52, 99, 100, 112};
      write_mss(candidates[pick(rng, 0, static_cast<unsigned>(candidates.size() - 1))] & 0xffff);
      break;
    }
    case 16: write_mss(read_mss() + (chance(rng, 0.5) ? 1 : -1)); break;
    case 17:
      if (!p.tcp_options.empty()) p.tcp_options[pick(rng, 0, static_cast<unsigned>(p.tcp_options.size() - 1))] ^= static_cast<std::uint8_t>(1u << pick(rng, 0, 7));
      break;
    case 18:
      if (!options.empty()) {
        std::size_t at = options[pick(rng, 0, static_cast<unsigned>(options.size() - 1))].offset;
        if (at + 1 < p.tcp_options.size()) p.tcp_options[at + 1] = static_cast<std::uint8_t>(p.tcp_options[at + 1] + (chance(rng, 0.5) ? 1 : -1));
      }
      break;
    case 19:
      if (!p.tcp_options.empty()) p.tcp_options.resize(pick(rng, 0, static_cast<unsigned>(p.tcp_options.size() - 1)));
      break;
    case 20: p.tcp_options.insert(p.tcp_options.begin() + pick(rng, 0, static_cast<unsigned>(p.tcp_options.size())), 1); break;
    case 21: {
      std::uint8_t words = static_cast<std::uint8_t>(5 + (p.tcp_options.size() + 3) / 4);
      p.data_offset_words = static_cast<std::uint8_t>(words + (chance(rng, 0.5) ? 1 : -1)) & 0x0f;
      break;
    }
    case 22: p.length_field = static_cast<std::uint16_t>(build_packet(p).size() - (p.ipv6 ? 40 : 0) + pick(rng, 1, 4)); break;
    case 23: p.cut = pick(rng, 1, 12); break;
    case 24: p.extra = pick(rng, 1, 8); break;
    case 25: if (p.payload.empty()) p.payload.assign(pick(rng, 1, 8), 0); else p.payload.clear(); break;
    case 26: p.protocol = chance(rng, 0.5) ? 17 : 0; break;
    case 27: if (!p.ipv6) p.ip_options.resize(p.ip_options.empty() ? 4 : 0, 1); break;
    case 28:
      if (auto at = find(8); at && *at + 9 < p.tcp_options.size()) p.tcp_options[*at + 2 + pick(rng, 0, 7)] ^= 0xff;
      break;
    case 29:
      if (auto at = find(8); at && *at + 9 < p.tcp_options.size()) std::fill_n(p.tcp_options.begin() + static_cast<long>(*at) + (chance(rng, 0.5) ? 2 : 6), 4, 0);
      break;
    case 30:
      if (auto at = find(3); at && *at + 2 < p.tcp_options.size()) p.tcp_options[*at + 2] = static_cast<std::uint8_t>(std::vector<unsigned>{0, 14, 15, 255, 7}[pick(rng, 0, 4)]);
      break;
    case 31:
      if (auto at = find(0); at && *at + 1 < p.tcp_options.size()) {
        std::size_t i = *at + 1 + pick(rng, 0, static_cast<unsigned>(p.tcp_options.size() - *at - 2));
        p.tcp_options[i] = p.tcp_options[i] ? 0 : static_cast<std::uint8_t>(pick(rng, 1, 255));
      }
      break;
    case 32: p.flags = static_cast<std::uint8_t>(std::vector<unsigned>{0x02, 0x12, 0x03, 0x06, 0x10, 0x00, 0x05, 0x42, 0xc2}[pick(rng, 0, 8)]); break;
    default: p.ipv6 = !p.ipv6; break;
  }
  return p;
}

PacketSpec random_packet(bool ipv6, bool response, Random& rng) {
  PacketSpec p;
  p.ipv6 = ipv6;
  const unsigned ttls[] = {32, 64, 128, 255};
  p.ttl = static_cast<std::uint8_t>(ttls[pick(rng, 0, 3)] - pick(rng, 0, 30));
  if (chance(rng, 0.1)) p.tos = static_cast<std::uint8_t>(pick(rng, 0, 255));
  if (ipv6 && chance(rng, 0.3)) p.flow_label = pick(rng, 1, 0xfffff);
  if (!ipv6) {
    p.fragment = chance(rng, 0.8) ? 0x4000 : 0;
    if (chance(rng, 0.05)) p.fragment |= 0x8000;
    p.ip_id = chance(rng, 0.5) ? 0 : static_cast<std::uint16_t>(pick(rng, 1, 65535));
    if (chance(rng, 0.1)) p.ip_options.assign(4 * pick(rng, 1, 2), 1);
  }
  p.flags = response ? 0x12 : 0x02;
  if (chance(rng, 0.05)) p.flags |= static_cast<std::uint8_t>(std::vector<unsigned>{0x08, 0x20, 0x40, 0x80}[pick(rng, 0, 3)]);
  if (chance(rng, 0.05)) p.reserved = 1;
  p.seq = chance(rng, 0.05) ? 0 : nonzero32(rng);
  p.ack = chance(rng, 0.7) ? (response ? nonzero32(rng) : 0) : static_cast<std::uint32_t>(pick(rng, 0, 0xffffffffu));
  if (chance(rng, 0.05)) p.urgent = static_cast<std::uint16_t>(pick(rng, 1, 65535));

  unsigned mss = std::vector<unsigned>{1460, 1440, 1400, 1380, 536, 1360, 8960, 1220}[pick(rng, 0, 7)];
  unsigned scale = chance(rng, 0.05) ? pick(rng, 15, 20) : pick(rng, 0, 14);
  std::uint32_t ts1 = chance(rng, 0.1) ? 0 : nonzero32(rng);
  std::uint32_t ts2 = chance(rng, 0.8) ? 0 : nonzero32(rng);
  static const std::vector<std::vector<std::uint8_t>> layouts = {
      {2, 4, 8, 1, 3}, {2, 1, 3, 1, 1, 4}, {2, 1, 1, 4}, {2}, {}, {2, 1, 3, 4, 8},
      {2, 1, 1, 8, 1, 3}, {1, 3, 1, 1, 8, 1, 1, 4, 2}, {2, 3, 4, 8}, {2, 1, 1, 4, 1, 3},
      {2, 4, 8}, {3, 1, 2, 8, 4}, {2, 1, 3, 1, 1, 8, 4}, {2, 1, 1, 5}, {2, 30, 1, 3}};
  std::vector<std::uint8_t> layout = layouts[pick(rng, 0, static_cast<unsigned>(layouts.size() - 1))];
  std::vector<std::uint8_t> options;
  for (std::uint8_t kind : layout) option_bytes(options, kind, mss, scale, ts1, ts2, rng);
  if (chance(rng, 0.2)) {
    options.push_back(0);
    options.insert(options.end(), pick(rng, 0, 7), 0);
    if (chance(rng, 0.3)) options.back() = 1;
  }
  p.tcp_options = options;
  switch (pick(rng, 0, 4)) {
    case 0: p.window = static_cast<std::uint16_t>(std::min(65535u, mss * pick(rng, 1, 44))); break;
    case 1: p.window = static_cast<std::uint16_t>(std::min(65535u, (mss + 40) * pick(rng, 1, 40))); break;
    case 2: p.window = std::vector<std::uint16_t>{65535, 8192, 16384, 29200, 5840, 14600, 64240}[pick(rng, 0, 6)]; break;
    default: p.window = static_cast<std::uint16_t>(pick(rng, 0, 65535)); break;
  }
  if (chance(rng, 0.1)) p.payload.assign(pick(rng, 1, 30), 0x11);
  return p;
}

std::vector<std::pair<std::vector<std::uint8_t>, bool>> packets_around(const std::vector<Signature>& signatures,
                                                                       bool response, int per_version, Random& rng) {
  std::vector<std::pair<std::vector<std::uint8_t>, bool>> out;
  for (const Signature& sig : signatures) {
    for (bool v6 : {false, true}) {
      if ((sig.version == IpVersion::V4 && v6) || (sig.version == IpVersion::V6 && !v6)) continue;
      for (int i = 0; i < per_version; ++i) {
        PacketSpec p = matching_packet(sig, v6, response, rng);
        if (i >= 2) p = mutate(p, rng);
        if (i == per_version - 1) p = random_packet(v6, response, rng);
        out.emplace_back(build_packet(p), p.ipv6);
      }
    }
  }
  return out;
}

}  // namespace p0fbpf::testing
