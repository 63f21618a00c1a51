// A database file read with p0fbpf's own reader, for tests that take its
// labels.
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "p0fbpf/database.hpp"

namespace p0fbpf::testing {

// nullopt if the file cannot be read.
inline std::optional<DatabaseResult> read_database_file(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return read_database(text.str(), path);
}

}  // namespace p0fbpf::testing
