// Diagnostics are values: a severity, the span of source text they are about,
// and what was wrong. They are rendered once, by render(), like a compiler's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace p0fbpf {

// Half-open byte range [begin, end) into the signature text.
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  Span span;
  std::string message;  // what is wrong, e.g. "initial TTL 300 is out of range"
  std::string help;     // what would be right; may be empty
};

// Printable ASCII, space included: what a terminal shows as it is.
constexpr bool is_printable(unsigned char c) { return c >= 0x20 && c < 0x7f; }

// `text` safe for a terminal: bytes outside printable ASCII become '?'
// (one byte each, so columns stay where they were).
std::string printable(std::string_view text);

// A token from the input for a message: printable, in single quotes, and
// cut short (with "...") when long, so that a huge token is not echoed whole.
std::string quoted(std::string_view token);

// The signature, a caret line under the span, the message and the help.
// `source` is the text the span points into; `origin` names where it came
// from (e.g. "<stdin>:3"), or is empty for a command-line argument.
std::string render(const Diagnostic& diagnostic, std::string_view source,
                   std::string_view origin = {});

// A signature's text and where it came from.
struct SignatureSource {
  std::string text;
  std::string origin;  // where it came from, e.g. "<stdin>:3"; empty for an argument
};

// A diagnostic together with the text its span points into.
struct SourcedDiagnostic {
  Diagnostic diagnostic;
  SignatureSource source;

  std::string render() const { return p0fbpf::render(diagnostic, source.text, source.origin); }
};

// A value or the diagnostic that explains why there is none.
template <typename T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Diagnostic error) : state_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(state_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<T>(state_); }
  T& value() & { return std::get<T>(state_); }
  T&& value() && { return std::get<T>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }
  const Diagnostic& error() const { return std::get<Diagnostic>(state_); }

 private:
  std::variant<T, Diagnostic> state_;
};

}  // namespace p0fbpf
