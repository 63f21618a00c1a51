#include "p0f/window.hpp"

#include <string>
#include <vector>

#include <fmt/format.h>

namespace p0fbpf {
namespace {

using namespace ir;

constexpr std::uint32_t kMtu = 1500;
constexpr std::uint32_t kMinMss = 100;  // p0f tries no divisor below this MSS

// One divisor p0f's detect_win_multi() tries: a constant, or the MSS plus
// a constant, or the MSS plus the packet's IP and TCP header length.
struct Divisor {
  enum class Base { None, Mss, MssAndHeaders };
  enum class When { Always, Ts1Set, Ipv6 };
  Base base;
  std::int32_t plus;
  bool mtu;  // gives mtu*M rather than mss*M
  When when;
};

// p0f's divisors, in the order it tries them.
constexpr Divisor kDivisors[] = {
    {Divisor::Base::Mss, 0, false, Divisor::When::Always},
    {Divisor::Base::Mss, -12, false, Divisor::When::Ts1Set},
    {Divisor::Base::None, kMtu - 40, false, Divisor::When::Always},
    {Divisor::Base::None, kMtu - 40 - 12, false, Divisor::When::Always},
    {Divisor::Base::None, kMtu - 60, false, Divisor::When::Ipv6},
    {Divisor::Base::None, kMtu - 60 - 12, false, Divisor::When::Ipv6},
    {Divisor::Base::Mss, 40, true, Divisor::When::Always},
    {Divisor::Base::MssAndHeaders, 0, true, Divisor::When::Always},
    {Divisor::Base::Mss, 60, true, Divisor::When::Ipv6},
    {Divisor::Base::None, kMtu, true, Divisor::When::Always},
};

struct Candidate {
  ValuePtr divisor;
  bool mtu = false;
  ConditionPtr active;  // the divisor is only tried when this holds
};

// The divisors as IR, for the packet `f` describes.
std::vector<Candidate> candidates(const WindowFacts& f) {
  std::vector<Candidate> list;
  for (const Divisor& d : kDivisors) {
    if (d.when == Divisor::When::Ipv6 && !f.ipv6) continue;
    ValuePtr divisor;
    switch (d.base) {
      case Divisor::Base::None: divisor = constant(static_cast<std::uint32_t>(d.plus)); break;
      case Divisor::Base::Mss:
        divisor = d.plus < 0 ? sub(f.mss, static_cast<std::uint32_t>(-d.plus))
                             : add(f.mss, static_cast<std::uint32_t>(d.plus));
        break;
      case Divisor::Base::MssAndHeaders: divisor = add(f.mss, f.header_total); break;
    }
    list.push_back({divisor, d.mtu, d.when == Divisor::When::Ts1Set ? f.ts1_set : always()});
  }
  return list;
}

}  // namespace

std::optional<WindowMultiplier> detect_window_multiplier(std::uint32_t window, std::uint32_t mss,
                                                        std::uint32_t ts1,
                                                        std::uint32_t header_total, bool ipv6) {
  if (window == 0 || mss < kMinMss) return std::nullopt;
  auto divides = [&](std::uint32_t d) { return d != 0 && window % d == 0; };
  // No allocation: fingerprinting calls this once per packet.
  for (const Divisor& d : kDivisors) {
    if ((d.when == Divisor::When::Ts1Set && ts1 == 0) || (d.when == Divisor::When::Ipv6 && !ipv6)) continue;
    std::uint32_t base = d.base == Divisor::Base::None ? 0 : d.base == Divisor::Base::Mss ? mss : mss + header_total;
    std::uint32_t divisor = base + static_cast<std::uint32_t>(d.plus);
    if (divides(divisor)) return WindowMultiplier{window / divisor, d.mtu};
  }
  return std::nullopt;
}

ConditionPtr exact_window(const WindowSize& window, const WindowFacts& f) {
  const std::string field = "wsize";
  switch (window.kind) {
    case WindowSize::Kind::Any:
      return always();
    case WindowSize::Kind::Exact:
      return eq(f.window, window.value, field);
    case WindowSize::Kind::Modulo:
      return eq(binary(BinaryOp::Mod, f.window, constant(window.value)), 0, field);
    case WindowSize::Kind::MssMultiple:
    case WindowSize::Kind::MtuMultiple:
      break;
  }
  const bool want_mtu = window.kind == WindowSize::Kind::MtuMultiple;
  const std::uint32_t multiplier = window.value;
  ConditionPtr mss_usable = ge(f.mss, kMinMss, "wsize: p0f needs mss >= 100");
  if (is_never(mss_usable)) {
    return never(fmt::format("{}: p0f detects no multiplier when the MSS is below 100", field));
  }

  // Built from the last divisor to the first. While everything after the
  // current divisor is "the window is one of these constants", the chain
  // stays a short list of compares; a divisor that depends on the packet
  // turns it into if-then-else.
  std::vector<std::uint32_t> accepted;
  ConditionPtr rest;  // null while `accepted` describes the rest exactly
  auto rest_condition = [&]() -> ConditionPtr {
    if (rest) return rest;
    std::vector<ConditionPtr> alternatives;
    for (std::uint32_t w : accepted) alternatives.push_back(eq(f.window, w, field));
    return any(std::move(alternatives));
  };

  // The usual match goes first: win == M * mss means the MSS divides the
  // window and p0f's first divisor gives M. After it, a window the MSS
  // divides is a miss.
  auto list = candidates(f);
  const bool fast = f.shortcut && !want_mtu && !f.mss->is_constant();
  ConditionPtr usual = eq(f.window, binary(BinaryOp::Mul, f.mss, constant(multiplier)), field);
  for (auto it = list.rbegin(); it != list.rend(); ++it) {
    const Candidate& c = *it;
    bool wanted = c.mtu == want_mtu && !(fast && it + 1 == list.rend());
    if (c.divisor->is_constant() && !rest && is_always(c.active)) {
      std::uint32_t d = c.divisor->constant;
      std::vector<std::uint32_t> next;
      std::uint64_t hit = std::uint64_t{multiplier} * d;
      if (wanted && d != 0 && hit <= 0xffff) next.push_back(static_cast<std::uint32_t>(hit));
      for (std::uint32_t w : accepted) {
        if (d == 0 || w % d != 0) next.push_back(w);
      }
      accepted = std::move(next);
      continue;
    }
    // Given that the divisor divides the window, window/d == M is the match.
    ConditionPtr divides = all({c.active, eq(binary(BinaryOp::Mod, f.window, c.divisor), 0, field)});
    ConditionPtr hit = wanted ? eq(binary(BinaryOp::Div, f.window, c.divisor), multiplier, field)
                              : never(fmt::format("{}: detected as the other multiplier kind", field));
    rest = select(divides, hit, rest_condition());
    if (is_never(rest)) {
      rest = nullptr;  // back to an (empty) list of constants
      accepted.clear();
    }
  }
  if (fast) return all({mss_usable, any({usual, rest_condition()})});
  return all({mss_usable, rest_condition()});
}

}  // namespace p0fbpf
