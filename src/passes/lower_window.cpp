#include "passes/lower_window.hpp"

#include <string>
#include <vector>

#include <fmt/format.h>

#include "p0f/window.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

struct Candidate {
  ValuePtr divisor;
  bool mtu = false;
  ConditionPtr active;  // the divisor is only tried when this holds
};

// The divisors as IR, for the packet `f` describes.
std::vector<Candidate> candidates(const WindowFacts& f) {
  std::vector<Candidate> list;
  for (const WindowDivisor& d : window_divisors()) {
    if (d.when == WindowDivisor::When::Ipv6 && !f.ipv6) continue;
    ValuePtr divisor;
    switch (d.base) {
      case WindowDivisor::Base::None: divisor = constant(static_cast<std::uint32_t>(d.plus)); break;
      case WindowDivisor::Base::Mss:
        divisor = d.plus < 0 ? sub(f.mss, static_cast<std::uint32_t>(-d.plus))
                             : add(f.mss, static_cast<std::uint32_t>(d.plus));
        break;
      case WindowDivisor::Base::MssAndHeaders: divisor = add(f.mss, f.header_total); break;
    }
    list.push_back({divisor, d.mtu, d.when == WindowDivisor::When::Ts1Set ? f.ts1_set : always()});
  }
  return list;
}

}  // namespace

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
  ConditionPtr mss_usable = ge(f.mss, kWindowMinMss, "wsize: p0f needs mss >= 100");
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
