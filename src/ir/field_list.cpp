#include "ir/field_list.hpp"

namespace p0fbpf {
namespace {

constexpr std::string_view kSeparator = ", ";

bool holds_name(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    std::size_t end = list.find(kSeparator);
    if (list.substr(0, end) == name) return true;
    if (end == std::string_view::npos) break;
    list.remove_prefix(end + kSeparator.size());
  }
  return false;
}

}  // namespace

void add_field_names(std::string& list, std::string_view names) {
  while (!names.empty()) {
    std::size_t end = names.find(kSeparator);
    std::string_view name = names.substr(0, end);
    if (!name.empty() && !holds_name(list, name)) {
      if (!list.empty()) list += kSeparator;
      list += name;
    }
    if (end == std::string_view::npos) break;
    names.remove_prefix(end + kSeparator.size());
  }
}

}  // namespace p0fbpf
