// Any bytes as a MuonFP and as a Satori string (p0fbpf convert's input,
// which comes from strangers' files): each conversion returns a signature
// that p0fbpf's own parser takes and that compiles, or a diagnostic whose
// span lies in the text; rendering must not fail, nor guessing the format.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "p0fbpf/compiler.hpp"
#include "p0fbpf/convert.hpp"
#include "p0fbpf/parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)p0fbpf::foreign_shape(text);
  for (p0fbpf::ForeignFormat format : {p0fbpf::ForeignFormat::MuonFp, p0fbpf::ForeignFormat::Satori}) {
    p0fbpf::Result<std::string> converted = p0fbpf::convert_signature(text, format);
    if (!converted.ok()) {
      const p0fbpf::Diagnostic& d = converted.error();
      if (d.span.begin > text.size() || d.span.end > text.size() + 1 || d.message.empty()) std::abort();
      if (p0fbpf::render(d, text).empty()) std::abort();
      continue;
    }
    if (!p0fbpf::parse_signature(*converted).ok()) std::abort();
    p0fbpf::Compilation compiled = p0fbpf::compile({{*converted, ""}}, p0fbpf::CompileOptions{});
    if (!compiled.ok() || !p0fbpf::is_valid(*compiled.program)) std::abort();
  }
  return 0;
}
