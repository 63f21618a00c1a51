// Finding things in a command's output (RE2 syntax): the tests read p0fbpf's
// and iproute2's JSON, help texts and listings with these rather than with
// <regex>, which costs seconds to compile in every file that uses it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace p0fbpf::testing {

// The capture groups of the pattern's first match in `text` (an unmatched
// group is empty); nullopt if it does not match.
std::optional<std::vector<std::string>> first_match(const std::string& text, const std::string& pattern);

// The capture groups of each match, from the start of `text`, each match
// starting where the one before ended.
std::vector<std::vector<std::string>> each_match(const std::string& text, const std::string& pattern);

// In JSON as p0fbpf and iproute2 print it: the number after the first
// "key": (-1 if there is none), every such number in order, the string
// after the first "key": ("" if there is none).
long json_number(const std::string& json, const std::string& key);
std::vector<long> json_numbers(const std::string& json, const std::string& key);
std::string json_text(const std::string& json, const std::string& key);

}  // namespace p0fbpf::testing
