// The fields a check or an instruction stands for, as a comment: names
// separated by ", ", e.g. "ver, olen, quirk ecn".
#pragma once

#include <string>
#include <string_view>

namespace p0fbpf {

// Appends to `list` each name of `names` that it does not hold yet. Names
// are compared whole: "ver" is not in "ip version 6".
void add_field_names(std::string& list, std::string_view names);

}  // namespace p0fbpf
