#include "p0fbpf/quirks.hpp"

namespace p0fbpf {

std::string quirk_names() {
  std::string names, extensions;
  for (const QuirkFacts& facts : kQuirks) {
    std::string& list = facts.loose_only ? extensions : names;
    if (!list.empty()) list += ", ";
    list += facts.name;
  }
  return names + " (and " + extensions + " with --loose)";
}

}  // namespace p0fbpf
