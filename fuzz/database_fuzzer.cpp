// Any bytes as a p0f.fp database: read, every error rendered, every label
// selected and its first signatures compiled and split within 64.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>
#include <algorithm>

#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  p0fbpf::DatabaseResult result = p0fbpf::read_database(text, "fuzz.fp");
  for (const auto& e : result.errors) {
    if (e.render().empty()) std::abort();
  }
  auto labels = p0fbpf::select_labels(result.database, "", std::nullopt);
  if (!labels) std::abort();  // the empty pattern is valid
  for (const auto* label : *labels) {
    p0fbpf::CompileOptions options;
    options.direction = label->direction;
    // A few signatures a label keep each run short.
    std::vector<p0fbpf::SignatureSource> some(label->signatures.begin(),
                                              label->signatures.begin() + std::min<std::size_t>(3, label->signatures.size()));
    p0fbpf::SplitCompilation split = p0fbpf::compile_split(some, options, 64);
    for (const auto& program : split.programs) {
      if (!p0fbpf::is_valid(program) || program.instructions.size() > 64) std::abort();
    }
  }
  return 0;
}
