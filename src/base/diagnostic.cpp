#include "p0fbpf/diagnostic.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace p0fbpf {
namespace {

constexpr std::size_t kMaxShown = 100;  // columns of source shown at most
constexpr std::size_t kContextBefore = 40;
constexpr std::size_t kMaxQuoted = 40;  // characters of a token shown in a message

}  // namespace

std::string printable(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (!is_printable(static_cast<unsigned char>(c))) c = '?';
  }
  return out;
}

std::string quoted(std::string_view token) {
  if (token.size() > kMaxQuoted) return fmt::format("'{}...'", printable(token.substr(0, kMaxQuoted - 3)));
  return fmt::format("'{}'", printable(token));
}

std::string render(const Diagnostic& diagnostic, std::string_view source,
                   std::string_view origin) {
  const char* kind = diagnostic.severity == Severity::Error ? "error" : "warning";
  std::string out;
  if (!origin.empty()) out += fmt::format("{}: ", printable(origin));
  // Messages and help may quote the input: nothing raw reaches a terminal.
  out += fmt::format("{}: {}\n", kind, printable(diagnostic.message));

  std::size_t begin = std::min(diagnostic.span.begin, source.size());
  std::size_t end = std::clamp(diagnostic.span.end, begin, source.size());

  // Show a window of a long signature around the span.
  std::size_t first = 0;
  std::size_t last = source.size();
  std::string prefix;
  std::string suffix;
  if (source.size() > kMaxShown) {
    first = begin > kContextBefore ? begin - kContextBefore : 0;
    last = std::min(source.size(), first + kMaxShown);
    if (first > 0) prefix = "...";
    if (last < source.size()) suffix = "...";
  }
  out += fmt::format("  {}{}{}\n", prefix,
                     printable(source.substr(first, last - first)), suffix);

  std::size_t column = prefix.size() + (begin - first);
  std::size_t width = std::max<std::size_t>(1, std::min(end, last) - begin);
  out += fmt::format("  {}^{}\n", std::string(column, ' '), std::string(width - 1, '~'));
  if (!diagnostic.help.empty()) out += fmt::format("  help: {}\n", printable(diagnostic.help));
  return out;
}

}  // namespace p0fbpf
