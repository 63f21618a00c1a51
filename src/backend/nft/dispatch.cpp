#include "backend/nft/dispatch.hpp"

#include <algorithm>
#include <map>
#include <optional>
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

// The field and the constant of a first match `FIELD == K` on a raw
// payload.
std::optional<std::pair<std::string, std::string>> keyed(const HookRule& rule) {
  if (rule.matches.empty() || !rule.matches.front().starts_with("@nh,")) return std::nullopt;
  const std::string& m = rule.matches.front();
  std::string::size_type at = m.rfind(" == ");
  if (at == std::string::npos) return std::nullopt;
  std::string k = m.substr(at + 4);
  if (k.empty() || k.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::pair{m.substr(0, at), k};
}

}  // namespace

Dispatched dispatch(const std::vector<HookRule>& rules, bool dispatch) {
  Dispatched out;
  if (!dispatch) {
    for (const HookRule& rule : rules) out.rules += line_of(rule, 0);
    return out;
  }
  // Each version's rules in their order (the versions' rules never both
  // hold, so their interleaving does not matter).
  std::vector<const HookRule*> ordered;
  for (int version : {4, 6}) {
    for (const HookRule& rule : rules) {
      if (rule.ip_version == version) ordered.push_back(&rule);
    }
  }
  if (ordered.size() != rules.size()) {  // a version other than 4 and 6: as they are
    for (const HookRule& rule : rules) out.rules += line_of(rule, 0);
    return out;
  }
  std::size_t chains = 0;
  for (std::size_t i = 0; i < ordered.size();) {
    auto key = keyed(*ordered[i]);
    std::size_t j = i + 1;
    while (key && j < ordered.size() && ordered[j]->ip_version == ordered[i]->ip_version &&
           ordered[j]->family == ordered[i]->family) {
      auto next = keyed(*ordered[j]);
      if (!next || next->first != key->first) break;
      ++j;
    }
    std::map<std::string, std::vector<const HookRule*>> by_constant;
    std::vector<std::string> constants;  // in order of first use
    for (std::size_t r = i; key && r < j; ++r) {
      auto [it, added] = by_constant.try_emplace(keyed(*ordered[r])->second);
      if (added) constants.push_back(it->first);
      it->second.push_back(ordered[r]);
    }
    if (constants.size() < 2) {
      for (std::size_t r = i; r < j; ++r) out.rules += line_of(*ordered[r], 0);
      i = j;
      continue;
    }
    std::string map;
    for (const std::string& k : constants) {
      std::string name = fmt::format("sig0_{}", ++chains);
      map += fmt::format("{}{} : jump {}", map.empty() ? "" : ", ", k, name);
      out.chains += fmt::format("  chain {} {{\n", name);
      for (const HookRule* rule : by_constant[k]) out.chains += line_of(*rule, 1);
      out.chains += "  }\n";
    }
    out.rules += fmt::format("    {} {} vmap {{ {} }}\n", ordered[i]->family, key->first, map);
    ++out.maps;
    i = j;
  }
  return out;
}

}  // namespace p0fbpf::nft
