#include "p0fbpf/database.hpp"

#include <algorithm>

#include <re2/re2.h>

#include <fmt/format.h>

#include "p0fbpf/parser.hpp"

namespace p0fbpf {
namespace {

std::size_t skip_space(std::string_view line, std::size_t at) {
  while (at < line.size() && (line[at] == ' ' || line[at] == '\t')) ++at;
  return at;
}

std::size_t trim_end(std::string_view line, std::size_t end) {
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t' || line[end - 1] == '\r')) --end;
  return end;
}

}  // namespace

DatabaseResult read_database(std::string_view text, const std::string& file_name) {
  DatabaseResult result;
  enum class Section { None, Request, Response, Other } section = Section::None;
  int number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t newline = text.find('\n', start);
    std::size_t stop = newline == std::string_view::npos ? text.size() : newline;
    std::string_view line = text.substr(start, stop - start);
    start = stop + 1;
    ++number;
    if (newline == std::string_view::npos && line.empty()) break;
    SignatureSource where{std::string(line), fmt::format("{}:{}", file_name, number)};
    auto fail = [&](std::size_t begin, std::size_t end, std::string message, std::string help) {
      result.errors.push_back({Diagnostic{Severity::Error, {begin, end}, std::move(message), std::move(help)}, where});
    };

    std::size_t first = skip_space(line, 0);
    std::size_t last = trim_end(line, line.size());
    if (first >= last || line[first] == ';') continue;
    if (line[first] == '[') {
      std::size_t close = line.find(']', first);
      if (close == std::string_view::npos || skip_space(line, close + 1) < last) {
        fail(first, last, "malformed section header", "a section header is [name], e.g. [tcp:request]");
        section = Section::Other;
        continue;
      }
      std::string_view name = line.substr(first + 1, close - first - 1);
      section = name == "tcp:request" ? Section::Request : name == "tcp:response" ? Section::Response : Section::Other;
      continue;
    }
    if (section == Section::Other) continue;  // [mtu], [http:*], ...

    std::size_t key_end = first;
    while (key_end < last && line[key_end] != ' ' && line[key_end] != '\t' && line[key_end] != '=') ++key_end;
    std::string_view key = line.substr(first, key_end - first);
    std::size_t equals = skip_space(line, key_end);
    if (equals >= last || line[equals] != '=') {
      fail(equals, equals + 1, fmt::format("expected '=' after '{}'", key), "database lines are: key = value");
      continue;
    }
    std::size_t value_begin = skip_space(line, equals + 1);
    std::string_view value = line.substr(value_begin, last - value_begin);

    if (key == "classes" || key == "ua_os" || key == "sys") {
      if (section == Section::None && key != "classes") {
        fail(first, key_end, fmt::format("'{}' outside a section", key), "it belongs under a label in a [section]");
      }
      continue;
    }
    if (section == Section::None) {
      fail(first, key_end, fmt::format("'{}' before any [section]", key), "start with [tcp:request] or [tcp:response]");
      continue;
    }
    Direction direction = section == Section::Request ? Direction::Request : Direction::Response;
    if (key == "label") {
      // type:class:name:flavor, the type s (specific) or g (generic).
      std::size_t colons = static_cast<std::size_t>(std::count(value.begin(), value.end(), ':'));
      if (colons < 3 || (value[0] != 's' && value[0] != 'g') || value[1] != ':') {
        fail(value_begin, last, "malformed label",
             "a label is type:class:name:flavor, e.g. s:unix:Linux:3.11 and newer (type s or g)");
        continue;
      }
      if (value.size() > kMaxLabelLength) {
        fail(value_begin, last, fmt::format("label of {} characters, more than the {} allowed", value.size(),
                                            kMaxLabelLength),
             "p0f's labels are short, e.g. s:unix:Linux:3.11 and newer");
        continue;
      }
      result.database.labels.push_back({std::string(value), direction, {}});
      continue;
    }
    if (key == "sig") {
      if (result.database.labels.empty() || result.database.labels.back().direction != direction) {
        fail(first, key_end, "'sig' before any label in this section", "put a label = ... line above it");
        continue;
      }
      Result<Signature> parsed = parse_signature(value);
      if (!parsed) {
        // The diagnostic points into the line, not into the value alone.
        Diagnostic d = parsed.error();
        d.span.begin += value_begin;
        d.span.end += value_begin;
        result.errors.push_back({d, where});
        continue;
      }
      result.database.labels.back().signatures.push_back({std::string(value), where.origin});
      continue;
    }
    fail(first, key_end, fmt::format("unknown key '{}'", key), "TCP sections hold label, sig and sys lines");
  }
  return result;
}

Result<std::vector<const DatabaseLabel*>> select_labels(const Database& database, std::string_view pattern,
                                                        std::optional<Direction> direction) {
  if (pattern.size() > kMaxPatternLength) {
    return Diagnostic{Severity::Error, {kMaxPatternLength, pattern.size()},
                      fmt::format("pattern of {} characters, more than the {} allowed", pattern.size(),
                                  kMaxPatternLength),
                      ""};
  }
  RE2::Options options;
  options.set_log_errors(false);
  RE2 re(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re.ok()) {
    // RE2 names the part of the pattern it stopped at.
    std::string_view part = re.error_arg();
    std::size_t at = part.empty() ? std::string_view::npos : pattern.find(part);
    Span span = at == std::string_view::npos ? Span{0, pattern.size()} : Span{at, at + part.size()};
    return Diagnostic{Severity::Error, span, fmt::format("not a regular expression: {}", re.error()),
                      "RE2 syntax: e.g. 'Linux|Windows', '^s:unix:', 'Linux:3\\.11'"};
  }
  std::vector<const DatabaseLabel*> out;
  for (const DatabaseLabel& label : database.labels) {
    if ((!direction || label.direction == *direction) && RE2::PartialMatch(label.text, re)) out.push_back(&label);
  }
  return out;
}

}  // namespace p0fbpf
