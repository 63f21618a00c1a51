// p0f's database format (p0f.fp): the TCP signatures under their labels.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/types.hpp"

namespace p0fbpf {

// Databases may come from strangers: labels and patterns are bounded.
inline constexpr std::size_t kMaxLabelLength = 256;
inline constexpr std::size_t kMaxPatternLength = 1024;

struct DatabaseLabel {
  std::string text;  // type:class:name:flavor, e.g. "s:unix:Linux:3.11 and newer"
  Direction direction = Direction::Request;  // [tcp:request] or [tcp:response]
  std::vector<SignatureSource> signatures;   // origin "FILE:LINE"
};

struct Database {
  std::vector<DatabaseLabel> labels;
};

// Reads [tcp:request] and [tcp:response] sections: label, sig, sys, classes
// and ua_os lines, ';' comments and blank lines; other sections are skipped.
// Each error names the file and line, its span is a column of that line,
// and its source is the line itself.
struct DatabaseResult {
  Database database;
  std::vector<SourcedDiagnostic> errors;
  bool ok() const { return errors.empty(); }
};

DatabaseResult read_database(std::string_view text, const std::string& file_name);

// Labels whose type:class:name:flavor the regular expression (RE2 syntax,
// matched in time linear in the label) matches anywhere, in the given
// direction (or both). Fails for a pattern RE2 does not take or longer than
// kMaxPatternLength; the diagnostic's span points into the pattern.
Result<std::vector<const DatabaseLabel*>> select_labels(const Database& database, std::string_view pattern,
                                                        std::optional<Direction> direction);

}  // namespace p0fbpf
