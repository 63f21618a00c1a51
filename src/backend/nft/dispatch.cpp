#include "backend/nft/dispatch.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace p0fbpf::nft {
namespace {

std::string line_of(const HookRule& rule, std::size_t from) {
  std::string line = "   ";
  if (from == 0) line += " " + rule.family;
  for (std::size_t k = from; k < rule.matches.size(); ++k) line += " " + rule.matches[k];
  return line + rule.action + "\n";
}

// The field and the constant of a rule's match `FIELD == K` at `at` on a
// raw payload.
std::optional<std::pair<std::string, std::string>> keyed(const HookRule& rule, std::size_t at) {
  if (rule.matches.size() <= at || !rule.matches[at].starts_with("@nh,")) return std::nullopt;
  const std::string& m = rule.matches[at];
  std::string::size_type equals = m.rfind(" == ");
  if (equals == std::string::npos) return std::nullopt;
  std::string k = m.substr(equals + 4);
  if (k.empty() || k.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::pair{m.substr(0, equals), k};
}

// The rules from `begin` on that begin with the same `shared` matches as
// the first and then compare the same field with a constant: [begin, end).
std::size_t run_end(const std::vector<const HookRule*>& rules, std::size_t begin, std::size_t shared) {
  const HookRule& first = *rules[begin];
  auto key = keyed(first, shared);
  if (!key) return begin + 1;
  std::size_t end = begin + 1;
  for (; end < rules.size(); ++end) {
    const HookRule& rule = *rules[end];
    if (rule.family != first.family || rule.matches.size() <= shared ||
        !std::equal(first.matches.begin(), first.matches.begin() + static_cast<std::ptrdiff_t>(shared),
                    rule.matches.begin())) {
      break;
    }
    auto next = keyed(rule, shared);
    if (!next || next->first != key->first) break;
  }
  return end;
}

std::size_t constants_in(const std::vector<const HookRule*>& rules, std::size_t begin, std::size_t end,
                         std::size_t shared) {
  std::set<std::string> constants;
  for (std::size_t r = begin; r < end; ++r) constants.insert(keyed(*rules[r], shared)->second);
  return constants.size();
}

// One version's rules, in their order.
void dispatch_version(const std::vector<const HookRule*>& rules, Dispatched& out, std::size_t& chains) {
  for (std::size_t i = 0; i < rules.size();) {
    // The matches the run shares in front of its key (IPv6's first word):
    // as many as give the longest run with two constants or more.
    std::size_t shared = 0, end = i + 1;
    std::size_t most = i + 1 < rules.size() ? rules[i]->matches.size() : 0;
    for (std::size_t p = 0; p < most; ++p) {
      const HookRule& next = *rules[i + 1];
      if (p > 0 && next.matches.size() >= p && next.matches[p - 1] != rules[i]->matches[p - 1]) {
        break;  // the next rule differs before p: no run can share p matches
      }
      std::size_t e = run_end(rules, i, p);
      if (e > end && keyed(*rules[i], p) && constants_in(rules, i, e, p) >= 2) shared = p, end = e;
    }
    if (end == i + 1) {
      out.rules += line_of(*rules[i], 0);
      ++i;
      continue;
    }
    auto key = keyed(*rules[i], shared);
    std::map<std::string, std::vector<const HookRule*>> by_constant;
    std::vector<std::string> constants;  // in order of first use
    for (std::size_t r = i; r < end; ++r) {
      auto [it, added] = by_constant.try_emplace(keyed(*rules[r], shared)->second);
      if (added) constants.push_back(it->first);
      it->second.push_back(rules[r]);
    }
    std::string map;
    for (const std::string& k : constants) {
      std::string name = fmt::format("sig0_{}", ++chains);
      map += fmt::format("{}{} : jump {}", map.empty() ? "" : ", ", k, name);
      out.chains += fmt::format("  chain {} {{\n", name);
      for (const HookRule* rule : by_constant[k]) out.chains += line_of(*rule, shared + 1);
      out.chains += "  }\n";
    }
    std::string line = "    " + rules[i]->family;
    for (std::size_t m = 0; m < shared; ++m) line += " " + rules[i]->matches[m];
    out.rules += fmt::format("{} {} vmap {{ {} }}\n", line, key->first, map);
    ++out.maps;
    i = end;
  }
}

}  // namespace

Dispatched dispatch(const std::vector<HookRule>& rules, bool dispatch) {
  Dispatched out;
  std::vector<const HookRule*> by_version[2];
  for (const HookRule& rule : rules) {
    if (rule.ip_version == 4 || rule.ip_version == 6) by_version[rule.ip_version == 6].push_back(&rule);
  }
  if (!dispatch || by_version[0].size() + by_version[1].size() != rules.size()) {
    // As they are (also with a version other than 4 and 6).
    for (const HookRule& rule : rules) out.rules += line_of(rule, 0);
    return out;
  }
  // Each version's rules in their order: the versions' rules never both
  // hold, so their interleaving does not matter.
  std::size_t chains = 0;
  for (const auto& version : by_version) dispatch_version(version, out, chains);
  return out;
}

}  // namespace p0fbpf::nft
