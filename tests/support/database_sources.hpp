// Which signatures of a database file name a public source: the comment
// lines directly above a `sig` line (back to the first line that is not a
// comment) hold one starting "; source:". signatures/p0fbpf.fp marks this
// way every entry that was not measured on the test bed.
#pragma once

#include <cstddef>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace p0fbpf::testing {

// Line number (1-based) of each sourced `sig` line -> the text of its
// comment block from "source:" on, joined by spaces.
inline std::map<std::size_t, std::string> sourced_signature_lines(const std::string& text) {
  std::map<std::size_t, std::string> out;
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("sig", 0) != 0) continue;
    std::vector<std::string> block;
    for (std::size_t j = i; j > 0 && lines[j - 1].rfind(";", 0) == 0; --j) block.insert(block.begin(), lines[j - 1]);
    std::string source;
    bool in_source = false;
    for (const auto& c : block) {
      if (c.rfind("; source:", 0) == 0) in_source = true;
      if (in_source) source += (source.empty() ? "" : " ") + c.substr(c.find_first_not_of("; "));
    }
    if (in_source) out[i + 1] = source;
  }
  return out;
}

// The line of an origin "FILE:LINE".
inline std::size_t origin_line(const std::string& origin) {
  return static_cast<std::size_t>(std::stoul(origin.substr(origin.rfind(':') + 1)));
}

}  // namespace p0fbpf::testing
