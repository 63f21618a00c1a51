#include "backend/nft/named_sets.hpp"

#include <fmt/format.h>

namespace p0fbpf::nft {

std::string NamedSets::use(const std::string& match) {
  std::string::size_type open = match.find(" { ");
  if (open == std::string::npos || !match.ends_with(" }")) return match;
  std::string fields = match.substr(0, open), op;
  if (fields.ends_with(" !=")) {
    fields.resize(fields.size() - 3);
    op = " !=";
  }
  std::string elements = match.substr(open + 3, match.size() - open - 5);
  auto [it, added] = names_.emplace(std::pair{fields, elements}, fmt::format("set{}", names_.size() + 1));
  if (added) {
    bool pairs = fields.find(" . ") != std::string::npos;
    definitions_ += fmt::format("  set {} {{\n    typeof {}\n{}    elements = {{ {} }}\n  }}\n", it->second, fields,
                                pairs ? "" : "    flags interval\n", elements);
  }
  return fields + op + " @" + it->second;
}

std::string NamedSets::definitions() const { return definitions_; }

}  // namespace p0fbpf::nft
