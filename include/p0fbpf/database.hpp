// p0f's database format (p0f.fp): the TCP signatures under their labels.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p0fbpf/compiler.hpp"
#include "p0fbpf/lower.hpp"

namespace p0fbpf {

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

// Labels whose type:class:name:flavor the ECMAScript regular expression
// matches anywhere, in the given direction (or both).
std::vector<const DatabaseLabel*> select_labels(const Database& database, const std::string& pattern,
                                                std::optional<Direction> direction);

}  // namespace p0fbpf
