#include "text_match.hpp"

#include <re2/re2.h>

#include <stdexcept>

namespace p0fbpf::testing {
namespace {

const RE2& compiled(const std::string& pattern, std::optional<RE2>& storage) {
  storage.emplace(pattern);
  if (!storage->ok()) throw std::invalid_argument("bad pattern " + pattern + ": " + storage->error());
  return *storage;
}

// The groups of the first match at or after `start`, and where it ends.
std::optional<std::vector<std::string>> match_from(const RE2& re, const std::string& text, std::size_t& start) {
  int groups = re.NumberOfCapturingGroups();
  std::vector<re2::StringPiece> found(static_cast<std::size_t>(groups) + 1);
  if (start > text.size() || !re.Match(text, start, text.size(), RE2::UNANCHORED, found.data(), groups + 1)) {
    return std::nullopt;
  }
  std::size_t end = static_cast<std::size_t>(found[0].data() - text.data()) + found[0].size();
  start = found[0].empty() ? end + 1 : end;
  std::vector<std::string> out;
  for (int i = 1; i <= groups; ++i) out.emplace_back(found[i].data() ? std::string(found[i]) : std::string());
  return out;
}

std::string json_key(const std::string& key) { return "\"" + RE2::QuoteMeta(key) + "\": ?"; }

}  // namespace

std::optional<std::vector<std::string>> first_match(const std::string& text, const std::string& pattern) {
  std::optional<RE2> storage;
  std::size_t start = 0;
  return match_from(compiled(pattern, storage), text, start);
}

std::vector<std::vector<std::string>> each_match(const std::string& text, const std::string& pattern) {
  std::optional<RE2> storage;
  const RE2& re = compiled(pattern, storage);
  std::vector<std::vector<std::string>> out;
  std::size_t start = 0;
  while (auto groups = match_from(re, text, start)) out.push_back(std::move(*groups));
  return out;
}

long json_number(const std::string& json, const std::string& key) {
  auto m = first_match(json, json_key(key) + "([0-9]+)");
  return m ? std::stol((*m)[0]) : -1;
}

std::vector<long> json_numbers(const std::string& json, const std::string& key) {
  std::vector<long> out;
  for (const auto& m : each_match(json, json_key(key) + "([0-9]+)")) out.push_back(std::stol(m[0]));
  return out;
}

std::string json_text(const std::string& json, const std::string& key) {
  auto m = first_match(json, json_key(key) + "\"([^\"]*)\"");
  return m ? (*m)[0] : std::string();
}

}  // namespace p0fbpf::testing
