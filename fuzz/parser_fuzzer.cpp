// Any bytes as a signature: the parser must return a value or a diagnostic
// whose span lies in the text, and rendering must not fail.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "p0fbpf/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  p0fbpf::Result<p0fbpf::Signature> result = p0fbpf::parse_signature(text);
  if (!result.ok()) {
    const p0fbpf::Diagnostic& d = result.error();
    if (d.span.begin > text.size() || d.span.end > text.size() + 1 || d.message.empty()) std::abort();
    if (p0fbpf::render(d, text).empty()) std::abort();
  } else if (result->text != text) {
    std::abort();
  }
  return 0;
}
