#include "passes/lower.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "passes/lower_window.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

constexpr std::uint32_t kTcpHeader = 20;
constexpr std::uint32_t kIpv6Header = 40;
constexpr std::uint32_t kMaxTcpHeader = 60;
constexpr std::uint32_t kTtlWindow = 35;  // p0f's MAX_DIST
using namespace tcp_flag;
constexpr std::uint32_t kEceCwr = kEce | kCwr;

// Valid length bytes for the variable-size options.
std::pair<std::uint32_t, std::uint32_t> length_range(std::uint8_t kind) {
  if (kind == tcp_option::kSack) return {10, 34};
  return {2, 40};
}

std::string option_field(std::size_t index, const TcpOption& opt) {
  std::string_view name = tcp_option::name(opt.kind);
  if (name.empty()) return fmt::format("olayout[{}] ?{}", index, opt.kind);
  return fmt::format("olayout[{}] {}", index, name);
}

std::string quirk_field(Quirk q) { return fmt::format("quirk {}", quirk_name(q)); }

// Packet facts shared by both modes, for one IP version.
struct Frame {
  bool v6 = false;
  Position tcp;             // first byte of the TCP header
  ValuePtr flags;           // TCP flags byte
  ValuePtr doff_byte;       // TCP data offset (high nibble), NS (low bit)
  ValuePtr header_length;   // TCP data offset in bytes
  ValuePtr header_end;      // first byte after the TCP header
  ValuePtr ecn;             // ECN bits of TOS / traffic class, masked below
  std::uint32_t ecn_mask = 0;
  ValuePtr ttl;
};

Frame make_frame(bool v6, const IpOptionLength& olen) {
  Frame f;
  f.v6 = v6;
  if (v6) {
    f.tcp = {nullptr, kIpv6Header};
    f.ecn = load(Width::Byte, 1);
    f.ecn_mask = 0x30;
    f.ttl = load(Width::Byte, 7);
  } else {
    if (olen.bytes) f.tcp = {nullptr, 20 + *olen.bytes};
    else f.tcp = {ip_header_length(), 0};
    f.ecn = load(Width::Byte, 1);
    f.ecn_mask = 0x03;
    f.ttl = load(Width::Byte, 8);
  }
  f.flags = f.tcp.load(Width::Byte, 13);
  f.doff_byte = f.tcp.load(Width::Byte, 12);
  f.header_length = binary(BinaryOp::Rsh, bit_and(f.doff_byte, 0xf0), constant(2));
  f.header_end = add(f.tcp.value(), f.header_length);
  return f;
}

ConditionPtr ttl_check(const InitialTtl& ttl, const Frame& f) {
  std::vector<ConditionPtr> checks = {le(f.ttl, ttl.initial, "ttl")};
  if (ttl.kind == InitialTtl::Kind::Window && ttl.initial > kTtlWindow) {
    checks.push_back(ge(f.ttl, ttl.initial - kTtlWindow, "ttl"));
    // The bound most packets fail first: initial TTLs cluster at 64 and
    // below (Linux, Android, macOS, the BSDs), so a window above 64 is
    // checked from below first (merge_checks.hpp keeps the order).
    if (ttl.initial > 64) std::swap(checks[0], checks[1]);
  }
  return all(std::move(checks));
}

// Some of the `count` bytes at `start` is non-zero: words, then a half-word
// and a byte, so that no load reaches past them. The last of them is read
// first: the alternatives stop at the first that holds, and a packet that
// ends before the last byte must end the program there, as a read guard in
// front of them promises (read_guards.hpp), not hold on an earlier byte.
ConditionPtr any_nonzero(const Position& start, std::uint32_t count, const std::string& field) {
  std::vector<ConditionPtr> nonzero;
  for (std::uint32_t at = 0; at < count;) {
    std::uint32_t left = count - at;
    Width width = left >= 4 ? Width::Word : left >= 2 ? Width::Half : Width::Byte;
    nonzero.push_back(ne(start.load(width, at), 0, field));
    at += static_cast<std::uint32_t>(width);
  }
  std::reverse(nonzero.begin(), nonzero.end());
  return any(std::move(nonzero));
}

ConditionPtr ecn_present(const Frame& f) {
  return any({bits_set(f.ecn, f.ecn_mask, "quirk ecn"), bits_set(f.flags, kEceCwr, "quirk ecn"),
              bits_set(f.doff_byte, 0x01, "quirk ecn")});
}

// What the option walk found, for the checks that come after it.
struct WalkResult {
  std::vector<ConditionPtr> checks;
  ValuePtr mss = constant(0);
  ValuePtr scale = constant(0);
  std::vector<ValuePtr> ts1_values;
};

class ExactLowering {
 public:
  ExactLowering(const Signature& sig, const LowerOptions& options, bool v6)
      : sig_(sig),
        response_(options.direction == Direction::Response),
        window_shortcut_(options.window_shortcut),
        frame_(make_frame(v6, sig.olen)) {}

  // `abort_last`: the walk stops at the last option for want of room or a
  // sane length (only with the `bad` quirk).
  ConditionPtr lower(bool abort_last) {
    const Frame& f = frame_;
    std::vector<ConditionPtr> c;

    std::optional<std::uint32_t> fixed_doff = fixed_header_length(abort_last);
    if (fixed_doff && *fixed_doff % 4 != 0) {
      return never(fmt::format("the option layout spans {} bytes, not a whole number of 32-bit words",
                               *fixed_doff - kTcpHeader),
                   sig_.options_span);
    }
    if (fixed_doff && *fixed_doff > kMaxTcpHeader) {
      return never(fmt::format("the option layout needs {} bytes of TCP header, more than 60", *fixed_doff),
                   sig_.options_span);
    }

    // IP header. p0f gives every IPv6 packet the IP option length 0 and
    // compares it like IPv4's (docs/semantics.md §4.4).
    if (f.v6 && sig_.olen.bytes && *sig_.olen.bytes != 0) {
      return never(fmt::format("olen {}: p0f reads an IPv6 packet's IP option length as 0", *sig_.olen.bytes),
                   sig_.olen.span);
    }
    if (f.v6 && !has(Quirk::Ecn) && !has(Quirk::FlowLabel)) {
      // Version, the traffic class's ECN bits and the flow label in one compare.
      c.push_back(eq(bit_and(load(Width::Word, 0), 0xf03fffff), 0x60000000, "ver, quirks ecn, flow"));
    } else if (f.v6 && !has(Quirk::Ecn)) {
      c.push_back(eq(bit_and(load(Width::Half, 0), 0xf030), 0x6000, "ver, quirk ecn"));
    } else if (f.v6) {
      c.push_back(eq(bit_and(load(Width::Byte, 0), 0xf0), 0x60, "ver"));
    } else if (sig_.olen.bytes) {
      std::uint32_t olen = *sig_.olen.bytes;
      if (olen % 4 != 0) return never(fmt::format("olen {} is not a multiple of 4", olen), sig_.olen.span);
      if (olen > 40) return never(fmt::format("olen {} is more than IPv4's 40 option bytes", olen), sig_.olen.span);
      std::uint32_t ver_ihl = 0x40 | (5 + olen / 4);
      if (has(Quirk::Ecn)) {
        c.push_back(eq(load(Width::Byte, 0), ver_ihl, "ver, olen"));
      } else {
        // Version, header length and the TOS ECN bits in one compare.
        c.push_back(eq(bit_and(load(Width::Half, 0), 0xff03), ver_ihl << 8, "ver, olen, quirk ecn"));
      }
    } else {
      c.push_back(eq(bit_and(load(Width::Byte, 0), 0xf0), 0x40, "ver"));
      c.push_back(ge(bit_and(load(Width::Byte, 0), 0x0f), 5, "ip header length"));
      c.push_back(ecn_bits_check());
    }

    // Lengths: the IP datagram must be all there; payload class. For IPv6
    // the payload length is compared with the TCP header length alone.
    ValuePtr datagram = f.v6 ? load(Width::Half, 4) : load(Width::Half, 2);
    std::uint32_t datagram_start = f.v6 ? kIpv6Header : 0;
    ValuePtr headers = f.v6 ? f.header_length : f.header_end;
    if (fixed_doff) headers = f.v6 ? constant(*fixed_doff) : add(f.tcp.value(), *fixed_doff);
    // The datagram's length is then fixed by the IP header (IPv4's first
    // word, IPv6's payload length), and the packet length check fails only
    // for a truncated datagram: it waits until the IP header's fields are
    // checked. There IPv6's payload length, merged with the hop limit and
    // next header into one word (merge_checks.hpp), is what tells most of
    // a selection's IPv6 signatures apart: a first check after the version
    // that threading and search trees go past for them all at once.
    ConditionPtr datagram_held;
    if (headers->is_constant() && sig_.payload == PayloadClass::Zero) {
      c.push_back(eq(datagram, headers, "pclass"));
      datagram_held = implied_by_last_byte(ge(packet_length(), datagram_start + headers->constant, "ip length"));
    } else {
      c.push_back(ge(packet_length(), add(datagram, datagram_start), "ip length"));
      if (sig_.payload == PayloadClass::Zero) c.push_back(eq(datagram, headers, "pclass"));
      else if (sig_.payload == PayloadClass::NonZero) c.push_back(gt(datagram, headers, "pclass"));
      else c.push_back(ge(datagram, headers, "tcp header length"));
    }

    if (!f.v6) {
      // Fragment bits, DF and the reserved bit in one compare.
      std::uint32_t flags = (has(Quirk::DontFragment) ? 0x4000 : 0) | (has(Quirk::MustBeZero) ? 0x8000 : 0);
      c.push_back(eq(load(Width::Half, 6), flags, "quirks df, 0+; not a fragment"));
    } else {
      if (sig_.has(Quirk::MustBeZero)) return never("0+ is never set on IPv6", quirk_span(Quirk::MustBeZero));
      if (has(Quirk::FlowLabel) || has(Quirk::Ecn)) {
        c.push_back(bits_match(load(Width::Word, 0), 0xfffff, has(Quirk::FlowLabel), quirk_field(Quirk::FlowLabel)));
      }
    }
    c.push_back(ttl_check(sig_.ttl, f));
    c.push_back(eq(load(Width::Byte, f.v6 ? 6 : 9), 6, "ip protocol tcp"));
    if (!f.v6) c.push_back(ip_id_check());
    // Before the first read past the IP header: a packet too short for the
    // reads above is one that no branch accepts.
    if (datagram_held) c.push_back(datagram_held);

    // TCP flags, data offset and NS.
    std::uint32_t type = response_ ? (kSyn | kAck) : kSyn;
    std::uint32_t expected_flags = type | (has(Quirk::UrgentFlag) ? kUrg : 0) |
                                   (has(Quirk::PushFlag) ? kPsh : 0);
    std::uint32_t flag_mask = kFin | kSyn | kRst | kAck | kUrg | kPsh | (has(Quirk::Ecn) ? 0 : kEceCwr);
    std::uint32_t doff_mask = has(Quirk::Ecn) ? 0xf0 : 0xf1;
    if (fixed_doff) {
      std::uint32_t doff_nibble = (*fixed_doff / 4) << 4;
      c.push_back(eq(bit_and(f.tcp.load(Width::Half, 12), (doff_mask << 8) | flag_mask),
                     (doff_nibble << 8) | expected_flags, "tcp flags, olayout length"));
    } else {
      c.push_back(eq(bit_and(f.flags, flag_mask), expected_flags, "tcp flags"));
      c.push_back(ge(bit_and(f.doff_byte, 0xf0), 0x50, "tcp header length"));
      if (!has(Quirk::Ecn)) c.push_back(bits_clear(f.doff_byte, 0x01, quirk_field(Quirk::Ecn)));
    }
    if (has(Quirk::Ecn)) c.push_back(ecn_present(f));
    // A fixed window size tells stacks apart more than any quirk: it goes
    // right after the flags and data offset, which merge_checks makes one
    // compare with it. A window the MSS or MTU gives waits for the options.
    const bool early_window = sig_.window.kind == WindowSize::Kind::Exact;
    if (early_window) {
      WindowFacts window_alone;  // a fixed size needs nothing else
      window_alone.window = f.tcp.load(Width::Half, 14);
      c.push_back(exact_window(sig_.window, window_alone));
    }

    c.push_back(equivalent(eq(f.tcp.load(Width::Word, 4), 0, quirk_field(Quirk::ZeroSeq)), has(Quirk::ZeroSeq)));
    if (response_) {
      if (has(Quirk::NonZeroAck)) return never("ack+ is never set on a SYN+ACK", quirk_span(Quirk::NonZeroAck));
      c.push_back(equivalent(eq(f.tcp.load(Width::Word, 8), 0, quirk_field(Quirk::ZeroAck)), has(Quirk::ZeroAck)));
    } else {
      if (has(Quirk::ZeroAck)) return never("ack- is never set on a SYN (no ACK flag)", quirk_span(Quirk::ZeroAck));
      // p0f 3.09b tests the low bit of the first ack byte (RD32 & 1 on a
      // little-endian host), not ack != 0.
      c.push_back(bits_match(f.tcp.load(Width::Byte, 8), 0x01, has(Quirk::NonZeroAck), quirk_field(Quirk::NonZeroAck)));
    }
    if (has(Quirk::UrgentFlag)) {
      if (has(Quirk::NonZeroUrgentPtr)) return never("uptr+ is only set when URG is clear", quirk_span(Quirk::NonZeroUrgentPtr));
    } else {
      c.push_back(equivalent(ne(f.tcp.load(Width::Half, 18), 0, quirk_field(Quirk::NonZeroUrgentPtr)),
                             has(Quirk::NonZeroUrgentPtr)));
    }

    WalkResult walk = walk_options(abort_last, fixed_doff);
    for (auto& check : walk.checks) c.push_back(check);

    if (sig_.mss.value) c.push_back(eq(walk.mss, *sig_.mss.value, "mss"));
    if (sig_.scale.value) c.push_back(eq(walk.scale, *sig_.scale.value, "scale"));

    WindowFacts facts;
    facts.window = f.tcp.load(Width::Half, 14);
    facts.mss = sig_.mss.value ? constant(*sig_.mss.value) : walk.mss;
    facts.ts1_set = ts1_set(walk);
    facts.header_total = fixed_doff ? add(f.tcp.value(), *fixed_doff) : f.header_end;
    facts.ipv6 = f.v6;
    facts.shortcut = window_shortcut_;
    if (!early_window) c.push_back(exact_window(sig_.window, facts));
    return all(std::move(c));
  }

 private:
  bool has(Quirk q) const {
    if (!sig_.has(q)) return false;
    // A `*` signature's quirks of the other IP version are dropped, as p0f
    // does, except 0+ (see QuirkFacts::exact_keeps_for_other_version).
    return quirk_exists_in(q, frame_.v6) || quirk_facts(q).exact_keeps_for_other_version;
  }

  ConditionPtr ecn_bits_check() const {
    if (has(Quirk::Ecn)) return always();  // part of the ecn alternatives
    return bits_clear(frame_.ecn, frame_.ecn_mask, quirk_field(Quirk::Ecn));
  }

  // Where the signature names the quirk.
  std::optional<Span> quirk_span(Quirk q) const {
    const QuirkItem* item = sig_.find(q);
    return item ? std::optional<Span>(item->span) : std::nullopt;
  }

  ConditionPtr ip_id_check() const {
    ValuePtr id = load(Width::Half, 4);
    if (has(Quirk::DontFragment)) {
      if (has(Quirk::ZeroId)) return never("id- is only set when DF is clear", quirk_span(Quirk::ZeroId));
      return equivalent(ne(id, 0, quirk_field(Quirk::NonZeroId)), has(Quirk::NonZeroId));
    }
    if (has(Quirk::NonZeroId)) return never("id+ is only set when DF is set", quirk_span(Quirk::NonZeroId));
    return equivalent(eq(id, 0, quirk_field(Quirk::ZeroId)), has(Quirk::ZeroId));
  }

  // The TCP header length the layout implies, when it implies one.
  std::optional<std::uint32_t> fixed_header_length(bool abort_last) const {
    if (abort_last) return std::nullopt;
    if (has(Quirk::BadOptions) && sig_.options.size() == kMaxTcpOptions) return std::nullopt;
    std::uint32_t length = kTcpHeader;
    for (const TcpOption& opt : sig_.options) {
      std::uint32_t size = tcp_option::fixed_size(opt.kind);
      if (size == 0) return std::nullopt;
      length += size;
      if (opt.kind == tcp_option::kEol) length += opt.eol_padding;
    }
    return length;
  }

  ConditionPtr ts1_set(const WalkResult& walk) const {
    if (walk.ts1_values.empty()) return never("no timestamp option");
    if (!has(Quirk::ZeroTs1)) return always();  // every ts1 is non-zero
    if (walk.ts1_values.size() == 1) return never("ts1 is zero");
    return ne(walk.ts1_values.back(), 0, "wsize: ts1");
  }

  WalkResult walk_options(bool abort_last, std::optional<std::uint32_t> fixed_doff) {
    const Frame& f = frame_;
    const auto& opts = sig_.options;
    const bool bad = has(Quirk::BadOptions);
    const std::size_t n = opts.size();
    WalkResult r;
    auto& c = r.checks;
    Position pos = f.tcp.advanced(kTcpHeader);
    ValuePtr end = fixed_doff ? add(f.tcp.value(), *fixed_doff) : f.header_end;
    std::vector<ConditionPtr> bad_reasons;
    std::vector<ConditionPtr> excessive_scale, zero_ts1, nonzero_ts2;
    bool eol_seen = false;
    bool guarded_prefix = false;

    // Bytes the walk needs at option i before it can look at it.
    auto need = [&](std::size_t i) -> std::uint32_t {
      if (abort_last && i + 1 == n) return 1;
      std::uint32_t size = tcp_option::fixed_size(opts[i].kind);
      return size ? size : 2;
    };
    // Where positions are fixed but the header end is not, one guard keeps
    // every load of the fixed prefix inside the header.
    if (!fixed_doff) {
      Position probe = pos;
      std::uint32_t needed = 0;
      for (std::size_t i = 0; i < n; ++i) {
        needed = probe.offset + need(i);
        if (tcp_option::fixed_size(opts[i].kind) == 0) break;
        probe = probe.advanced(tcp_option::fixed_size(opts[i].kind));
      }
      if (n > 0 && f.tcp.is_constant()) {
        c.push_back(ge(f.header_length, needed - f.tcp.offset, "olayout length"));
        guarded_prefix = true;
      } else if (n > 0) {
        c.push_back(le(add(f.tcp.value(), needed - f.tcp.offset), end, "olayout length"));
        guarded_prefix = true;
      }
    }

    for (std::size_t i = 0; i < n; ++i) {
      const TcpOption& opt = opts[i];
      const std::string field = option_field(i, opt);
      const bool last = i + 1 == n;
      const bool aborts = abort_last && last;
      if (eol_seen) {
        r.checks = {never("option kind 0 (EOL) ends p0f's option walk, so no option can follow it")};
        return r;
      }
      // Past a variable-size option each position needs its own guard.
      if (!fixed_doff && !(guarded_prefix && pos.base == f.tcp.base)) {
        c.push_back(le(add(pos.value(), need(i)), end, field + ": in header"));
      }
      std::uint32_t size = tcp_option::fixed_size(opt.kind);
      ValuePtr kind = pos.load(Width::Byte);

      if (opt.kind == tcp_option::kEol) {
        eol_seen = true;
        c.push_back(eq(kind, 0, field));
        if (!fixed_doff) c.push_back(eq(end, add(pos.value(), 1 + opt.eol_padding), field + ": padding"));
        padding_check(pos.advanced(1), opt.eol_padding, c);
        pos = pos.advanced(1 + opt.eol_padding);
        continue;
      }
      if (opt.kind == tcp_option::kNop) {
        c.push_back(eq(kind, 1, field));
        pos = pos.advanced(1);
        continue;
      }
      if (aborts) {
        c.push_back(eq(kind, opt.kind, field));
        if (size) {
          c.push_back(gt(add(pos.value(), size), end, field + ": cut short"));
        } else {
          auto [lo, hi] = length_range(opt.kind);
          ValuePtr length = pos.load(Width::Byte, 1);
          c.push_back(any({ge(add(pos.value(), 1), end, field + ": no length"),
                           lt(length, lo, field + ": length"), gt(length, hi, field + ": length"),
                           gt(add(pos.value(), length), end, field + ": too long")}));
        }
        continue;
      }
      if (size) {
        std::uint32_t kind_and_length = (std::uint32_t{opt.kind} << 8) | size;
        if (bad) {
          c.push_back(eq(kind, opt.kind, field));
          bad_reasons.push_back(ne(pos.load(Width::Byte, 1), size, field + ": length"));
        } else {
          c.push_back(eq(pos.load(Width::Half), kind_and_length, field));
        }
        option_values(opt, pos, r, excessive_scale, zero_ts1, nonzero_ts2);
        pos = pos.advanced(size);
      } else {
        auto [lo, hi] = length_range(opt.kind);
        c.push_back(eq(kind, opt.kind, field));
        ValuePtr length = pos.load(Width::Byte, 1);
        c.push_back(ge(length, lo, field + ": length"));
        c.push_back(le(length, hi, field + ": length"));
        pos = Position{add(pos.value(), length), 0};
      }
    }

    if (!abort_last && !eol_seen) {
      if (n == kMaxTcpOptions && bad) {
        // kMaxTcpOptions options end the walk; stopping short of the header end is `bad`.
        c.push_back(le(pos.value(), end, "olayout length"));
        bad_reasons.push_back(ne(pos.value(), end, "olayout length"));
      } else if (!fixed_doff) {
        c.push_back(eq(pos.value(), end, "olayout length"));
      }
    }
    if (bad && !abort_last) {
      ConditionPtr reason = any(std::move(bad_reasons));
      if (is_never(reason)) {
        r.checks = {never("quirk bad: this layout leaves p0f's option walk nothing to find wrong")};
        return r;
      }
      c.push_back(reason);
    }
    if (!eol_seen && has(Quirk::OptionDataAfterEol)) {
      r.checks = {never("opt+ needs an eol option")};
      return r;
    }
    c.push_back(equivalent(any(std::move(excessive_scale)), has(Quirk::ExcessiveScale)));
    c.push_back(equivalent(any(std::move(zero_ts1)), has(Quirk::ZeroTs1)));
    if (response_ && has(Quirk::NonZeroTs2)) {
      r.checks = {never("ts2+ is only set on a SYN")};
      return r;
    }
    c.push_back(equivalent(any(std::move(nonzero_ts2)), has(Quirk::NonZeroTs2)));
    return r;
  }

  void option_values(const TcpOption& opt, const Position& pos, WalkResult& r,
                     std::vector<ConditionPtr>& excessive_scale, std::vector<ConditionPtr>& zero_ts1,
                     std::vector<ConditionPtr>& nonzero_ts2) {
    switch (opt.kind) {
      case tcp_option::kMss:
        r.mss = pos.load(Width::Half, 2);
        break;
      case tcp_option::kWindowScale:
        r.scale = pos.load(Width::Byte, 2);
        if (sig_.scale.value && &opt == last_window_scale()) {
          // The scale check pins this value already.
          excessive_scale.push_back(*sig_.scale.value > 14 ? always() : never("scale <= 14"));
        } else {
          excessive_scale.push_back(gt(r.scale, 14, quirk_field(Quirk::ExcessiveScale)));
        }
        break;
      case tcp_option::kTimestamp: {
        ValuePtr ts1 = pos.load(Width::Word, 2);
        r.ts1_values.push_back(ts1);
        zero_ts1.push_back(eq(ts1, 0, quirk_field(Quirk::ZeroTs1)));
        if (!response_) nonzero_ts2.push_back(ne(pos.load(Width::Word, 6), 0, quirk_field(Quirk::NonZeroTs2)));
        break;
      }
      default:
        break;
    }
  }

  const TcpOption* last_window_scale() const {
    for (auto it = sig_.options.rbegin(); it != sig_.options.rend(); ++it) {
      if (it->kind == tcp_option::kWindowScale) return &*it;
    }
    return nullptr;
  }

  // p0f flags opt+ when a non-zero byte follows EOL anywhere but in the very
  // last position: its scan stops one past the first non-zero byte.
  void padding_check(Position start, std::uint32_t padding, std::vector<ConditionPtr>& c) const {
    const bool want = has(Quirk::OptionDataAfterEol);
    std::uint32_t scanned = padding > 0 ? padding - 1 : 0;
    ConditionPtr found = any_nonzero(start, scanned, quirk_field(Quirk::OptionDataAfterEol));
    if (want && is_never(found)) {
      c.push_back(never("opt+ needs at least two bytes after eol (p0f never looks at the last one)"));
      return;
    }
    c.push_back(equivalent(found, want));
  }

  const Signature& sig_;
  bool response_;
  bool window_shortcut_;
  Frame frame_;
};

class LooseLowering {
 public:
  LooseLowering(const Signature& sig, const LowerOptions& options, bool v6)
      : sig_(sig),
        response_(options.direction == Direction::Response),
        early_window_(options.window_shortcut),
        frame_(make_frame(v6, sig.olen)) {}

  ConditionPtr lower() {
    const Frame& f = frame_;
    std::vector<ConditionPtr> c;
    if (f.v6) {
      c.push_back(eq(bit_and(load(Width::Byte, 0), 0xf0), 0x60, "ver"));
      c.push_back(eq(load(Width::Byte, 6), 6, "ip protocol tcp"));
    } else {
      if (sig_.olen.bytes) {
        std::uint32_t olen = *sig_.olen.bytes;
        if (olen % 4 != 0 || olen > 40) return never(fmt::format("olen {} cannot occur in IPv4", olen));
        c.push_back(eq(load(Width::Byte, 0), 0x40 | (5 + olen / 4), "ver, olen"));
      } else {
        c.push_back(eq(bit_and(load(Width::Byte, 0), 0xf0), 0x40, "ver"));
        // The TCP header lies after IP options of any length: it must be there.
        c.push_back(ge(packet_length(), add(f.tcp.value(), kTcpHeader), "tcp header in packet"));
      }
      // The TTL window first, as in exact mode: most SYNs that fail a
      // signature fail it, and the fragment and protocol checks pass.
      c.push_back(ttl_check(sig_.ttl, f));
      // Not a fragment, and DF where df or id- is named: one compare.
      std::uint32_t df = sig_.has(Quirk::DontFragment) || sig_.has(Quirk::NonZeroId) ? 0x4000 : 0;
      if (df || sig_.has(Quirk::ZeroId)) {
        c.push_back(eq(bit_and(load(Width::Half, 6), 0x7fff), df, "not a fragment, quirks df, id+, id-"));
      } else {
        c.push_back(bits_clear(load(Width::Half, 6), 0x3fff, "not a fragment"));
      }
      c.push_back(eq(load(Width::Byte, 9), 6, "ip protocol tcp"));
    }
    if (f.v6) c.push_back(ttl_check(sig_.ttl, f));

    // Options at the offsets their layout gives them. Every load stays inside
    // the packet, so that one branch cannot abort another: one guard covers
    // the options at fixed offsets, each later one gets its own.
    Position pos = f.tcp.advanced(kTcpHeader);
    std::size_t guard_at = c.size();  // the guard for the reads below goes here
    // The direction's SYN, SYN+ACK for responses: whatever else it leaves
    // out, a signature decides only about the packets p0f fingerprints.
    c.push_back(eq(bit_and(f.flags, kFin | kSyn | kRst | kAck), response_ ? (kSyn | kAck) : kSyn, "tcp flags"));
    // A fixed window goes right after the flags, with the data offset (one
    // merged compare of the flags' word), as in exact mode: signatures that
    // differ by window (NMap's) part there, before their options.
    // Only in the forms with the window shortcut: the others keep the order
    // before this one, so that no program loses a fit it had.
    const bool early_window = early_window_ && sig_.window.kind == WindowSize::Kind::Exact;
    const auto after_flags = static_cast<std::ptrdiff_t>(c.size());
    ValuePtr mss = constant(0);
    ValuePtr scale = constant(0);
    std::optional<Position> timestamp;
    for (std::size_t i = 0; i < sig_.options.size(); ++i) {
      const TcpOption& opt = sig_.options[i];
      const std::string field = option_field(i, opt);
      std::uint32_t size = tcp_option::fixed_size(opt.kind);
      std::uint32_t reach = opt.kind == tcp_option::kEol ? 1 + opt.eol_padding : size ? size : 2;
      if (pos.base != f.tcp.base) {
        c.push_back(ge(packet_length(), add(pos.value(), reach), field + ": in packet"));
      }
      c.push_back(eq(pos.load(Width::Byte), opt.kind, field));
      switch (opt.kind) {
        case tcp_option::kMss: mss = pos.load(Width::Half, 2); break;
        case tcp_option::kWindowScale: scale = pos.load(Width::Byte, 2); break;
        case tcp_option::kTimestamp: timestamp = pos; break;
        default: break;
      }
      if (opt.kind == tcp_option::kEol) {
        ConditionPtr found = any_nonzero(pos.advanced(1), opt.eol_padding, "eol padding");
        bool want = sig_.has(Quirk::OptionDataAfterEol);
        if (want && is_never(found)) return never("opt+ needs padding after eol");
        c.push_back(equivalent(found, want));
        pos = pos.advanced(1 + opt.eol_padding);
      } else if (size) {
        pos = pos.advanced(size);
      } else {
        pos = Position{add(pos.value(), pos.load(Width::Byte, 1)), 0};
      }
    }
    std::optional<std::uint32_t> fixed_words;
    if (!sig_.has(Quirk::BadOptions)) {
      // Data offset in words: 5 + ceil(option bytes / 4).
      if (pos.base == f.tcp.base) {
        std::uint32_t words = (pos.offset - f.tcp.offset + 3) / 4;
        if (words > 15) return never("the option layout does not fit a TCP header");
        fixed_words = words;
        ConditionPtr doff = eq(bit_and(f.doff_byte, 0xf0), words << 4, "olayout length");
        if (early_window) c.insert(c.begin() + after_flags, doff);
        else c.push_back(doff);
      } else {
        ValuePtr bytes = binary(BinaryOp::Sub, pos.value(), f.tcp.value());
        ValuePtr words = binary(BinaryOp::Rsh, add(bytes, 3), constant(2));
        c.push_back(eq(binary(BinaryOp::Rsh, f.doff_byte, constant(4)), words, "olayout length"));
      }
    }

    if (sig_.mss.value) c.push_back(eq(mss, *sig_.mss.value, "mss"));
    if (sig_.scale.value) c.push_back(eq(scale, *sig_.scale.value, "scale"));
    ValuePtr window = f.tcp.load(Width::Half, 14);
    switch (sig_.window.kind) {
      case WindowSize::Kind::Any: break;
      case WindowSize::Kind::Exact:
        if (fixed_words) c.insert(c.begin() + after_flags + 1, eq(window, sig_.window.value, "wsize"));
        else c.push_back(eq(window, sig_.window.value, "wsize"));
        break;
      case WindowSize::Kind::Modulo:
        c.push_back(eq(binary(BinaryOp::Mod, window, constant(sig_.window.value)), 0, "wsize"));
        break;
      case WindowSize::Kind::MssMultiple:
        c.push_back(eq(window, binary(BinaryOp::Mul, mss, constant(sig_.window.value)), "wsize"));
        break;
      case WindowSize::Kind::MtuMultiple:
        c.push_back(eq(window, binary(BinaryOp::Mul, add(mss, f.v6 ? 60 : 40), constant(sig_.window.value)),
                       "wsize"));
        break;
    }

    for (const QuirkItem& item : sig_.quirks) {
      ConditionPtr q = quirk(item.quirk, timestamp, scale);
      if (is_never(q)) return q;
      c.push_back(q);
    }

    ValuePtr datagram = f.v6 ? load(Width::Half, 4) : load(Width::Half, 2);
    ValuePtr headers = f.v6 ? f.header_length : f.header_end;
    if (fixed_words) {
      // The data offset check above fixes the TCP header length.
      headers = f.v6 ? constant(*fixed_words * 4) : add(f.tcp.value(), *fixed_words * 4);
    }
    ConditionPtr pclass;
    if (sig_.payload == PayloadClass::Zero) pclass = eq(datagram, headers, "pclass");
    if (sig_.payload == PayloadClass::NonZero) pclass = gt(datagram, headers, "pclass");
    // With the IP and TCP headers' lengths fixed, the payload class reads
    // only the datagram length, before which every branch reads a later IP
    // header byte anyway: it goes right after the version, where merging
    // checks joins the two in the branch's first compare, as in exact
    // mode. A version tested first by every branch is what lets a failed
    // branch's jump go past the branches of the other version (jump
    // threading). With olen `*` the packet's length is checked first, and
    // the order stays.
    bool pclass_first = pclass && fixed_words.has_value() && f.tcp.is_constant();
    if (pclass && !pclass_first) c.push_back(pclass);

    // The packet must hold what the checks after the guard read from the
    // TCP header on: exactly those bytes, so that the guard changes no
    // verdict.
    std::uint32_t end = 0;
    for (std::size_t i = guard_at; i < c.size(); ++i) end = std::max(end, read_end(c[i], f.tcp.base.get()));
    if (end > (f.tcp.base ? 20u : 40u)) {
      c.insert(c.begin() + static_cast<std::ptrdiff_t>(guard_at),
               read_guard(ge(packet_length(), f.tcp.base ? add(f.tcp.base, end) : constant(end),
                             "olayout: in packet")));
    }
    if (pclass_first) c.insert(c.begin() + 1, pclass);  // c[0] is the version check
    return all(std::move(c));
  }

 private:
  ConditionPtr quirk(Quirk q, const std::optional<Position>& timestamp, const ValuePtr& scale) const {
    const Frame& f = frame_;
    const std::string field = quirk_field(q);
    if (!quirk_exists_in(q, f.v6)) return always();  // dropped for the other version, 0+ too
    ValuePtr frag = load(Width::Half, 6);
    ValuePtr id = load(Width::Half, 4);
    switch (q) {
      // DF itself is checked with the fragment bits.
      case Quirk::DontFragment: return always();
      case Quirk::NonZeroId: return ne(id, 0, field);
      case Quirk::ZeroId: return sig_.has(Quirk::DontFragment) ? never("id- needs DF clear, df needs it set")
                                                                : eq(id, 0, field);
      case Quirk::Ecn: return ecn_present(f);
      case Quirk::MustBeZero: return bits_set(frag, 0x8000, field);
      case Quirk::FlowLabel: return bits_set(load(Width::Word, 0), 0xfffff, field);
      case Quirk::ZeroSeq: return eq(f.tcp.load(Width::Word, 4), 0, field);
      case Quirk::NonZeroAck: return all({bits_clear(f.flags, kAck, field), ne(f.tcp.load(Width::Word, 8), 0, field)});
      case Quirk::ZeroAck: return all({bits_set(f.flags, kAck, field), eq(f.tcp.load(Width::Word, 8), 0, field)});
      case Quirk::NonZeroUrgentPtr: return all({bits_clear(f.flags, kUrg, field), ne(f.tcp.load(Width::Half, 18), 0, field)});
      case Quirk::UrgentFlag: return bits_set(f.flags, kUrg, field);
      case Quirk::PushFlag: return bits_set(f.flags, kPsh, field);
      case Quirk::ZeroTs1:
        if (!timestamp) return never("ts1- needs a ts option in the layout");
        return eq(timestamp->load(Width::Word, 2), 0, field);
      case Quirk::NonZeroTs2:
        if (!timestamp) return never("ts2+ needs a ts option in the layout");
        return all({eq(bit_and(f.flags, kFin | kSyn | kRst | kAck), kSyn, field),
                    ne(timestamp->load(Width::Word, 6), 0, field)});
      case Quirk::OptionDataAfterEol: return always();  // checked with the eol padding
      case Quirk::ExcessiveScale: return gt(scale, 14, field);
      case Quirk::BadOptions: return always();  // only lifts the data offset check
      case Quirk::LinuxId:
        if (!timestamp) return never("linux needs a ts option in the layout");
        return eq(id, binary(BinaryOp::Xor, f.tcp.load(Width::Half, 6), timestamp->load(Width::Half, 4)), field);
    }
    return always();
  }

  const Signature& sig_;
  bool response_;
  bool early_window_;
  Frame frame_;
};

}  // namespace

std::optional<unsigned> olen_as_p0f_reads_it(const Signature& sig) {
  if (sig.ttl.kind != InitialTtl::Kind::Random || !sig.olen.bytes) return sig.olen.bytes;
  std::string digits = sig.text.substr(sig.olen.span.begin + 1, sig.olen.span.end - sig.olen.span.begin - 1);
  return digits.empty() ? 0u : static_cast<unsigned>(std::stoul(digits));
}

namespace {

std::string branch_label(const Signature& sig, bool v6, bool aborted) {
  std::string label = fmt::format("{} ({})", sig.text, v6 ? "IPv6" : "IPv4");
  if (aborted) label += " (option walk cut short)";
  return label;
}

}  // namespace

Result<Lowered> lower(const Signature& written, const LowerOptions& options) {
  Lowered out;
  Signature sig = written;
  if (options.mode == MatchMode::Exact) {
    sig.olen.bytes = olen_as_p0f_reads_it(written);
    if (sig.olen.bytes != written.olen.bytes) {
      out.warnings.push_back(Diagnostic{
          Severity::Warning, written.olen.span,
          fmt::format("p0f 3.09b reads this IP option length as {} after the random TTL '{}-'",
                      *sig.olen.bytes, written.ttl.initial),
          "p0fbpf matches what p0f reads; p0f.fp only uses N- with olen 0"});
    }
  }
  if (options.mode == MatchMode::Exact) {
    if (const QuirkItem* item = sig.find(Quirk::LinuxId)) {
      return Diagnostic{Severity::Error, item->span,
                        "quirk 'linux' is a p0fbpf extension for --loose only",
                        "p0f has no such quirk; add --loose, or drop it for p0f's exact match"};
    }
  }
  std::vector<bool> versions;
  if (sig.version != IpVersion::V6) versions.push_back(false);
  if (sig.version != IpVersion::V4) versions.push_back(true);

  std::string reason;
  std::optional<Span> cause;
  for (bool v6 : versions) {
    std::optional<std::uint32_t> tcp_offset;
    if (Frame f = make_frame(v6, sig.olen); f.tcp.is_constant()) tcp_offset = f.tcp.offset;
    std::vector<bool> scenarios = {false};
    if (options.mode == MatchMode::Exact && sig.has(Quirk::BadOptions) && !sig.options.empty()) {
      std::uint8_t last = sig.options.back().kind;
      if (last != tcp_option::kEol && last != tcp_option::kNop) scenarios.push_back(true);
    }
    for (bool aborted : scenarios) {
      ir::ConditionPtr condition = options.mode == MatchMode::Exact
                                       ? ExactLowering(sig, options, v6).lower(aborted)
                                       : LooseLowering(sig, options, v6).lower();
      if (ir::is_never(condition)) {
        if (reason.empty()) {
          reason = condition->field;
          cause = condition->cause;
        }
        continue;
      }
      out.branches.push_back({branch_label(sig, v6, aborted), condition, v6 ? 6 : 4, 0, tcp_offset});
    }
  }
  if (out.branches.empty()) {
    out.warnings.push_back(Diagnostic{Severity::Warning, cause.value_or(Span{0, sig.text.size()}),
                                      fmt::format("this signature can never match: {}", reason), {}});
  }
  return out;
}

}  // namespace p0fbpf
