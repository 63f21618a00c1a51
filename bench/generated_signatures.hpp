// Distinct valid signatures for the benchmarks of large selections
// (selection_bench, limits_bench), as a p0f.fp database.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include <fmt/format.h>

#include "p0fbpf/parser.hpp"

constexpr std::size_t kGeneratedLabels = 1000;

// Signature `index` of a generated database: ten MSS values per shape, a
// hundred shapes (version, TTL, option layout, quirks, window) in turn, so
// neighbours share most checks as a label's signatures do in p0f.fp.
// Every index below 100,000 gives a different signature.
inline std::string generated_signature(std::size_t index) {
  static const char* const kLayouts[] = {"mss,sok,ts,nop,ws", "mss,nop,ws,nop,nop,sok", "mss,nop,nop,ts",
                                         "mss,nop,nop,sok"};
  static const unsigned kTtls[] = {64, 128, 255};
  std::size_t shape = (index / 10) % 100;
  unsigned mss = 536 + index % 10 + 10 * static_cast<unsigned>(index / 1000 % 100);
  bool v6 = shape % 2;
  unsigned ttl = kTtls[shape / 2 % 3];
  std::size_t layout = shape / 6 % 4;
  bool with_ws = layout < 2;
  std::size_t quirk = shape / 24 % 2;
  const char* quirks = v6 ? (quirk ? "flow" : "") : (quirk ? "df,id+,ecn" : "df,id+");
  std::string window;
  switch (shape / 48 % 3) {
    case 0: window = "mss*10"; break;
    case 1: window = std::to_string(8192 + 16 * (index % 10)); break;
    default: window = "*"; break;
  }
  unsigned scale = with_ws ? static_cast<unsigned>(index % 7) : 0;
  return fmt::format("{}:{}:0:{}:{},{}:{}:{}:0", v6 ? 6 : 4, ttl, mss, window, scale, kLayouts[layout], quirks);
}

// A p0f.fp [tcp:request] section of `count` signatures under `labels` labels.
inline std::string generated_database(std::size_t count, std::size_t labels = kGeneratedLabels) {
  std::string out = "[tcp:request]\n";
  std::size_t per_label = (count + labels - 1) / labels;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < count; ++i) {
    if (i % per_label == 0) out += fmt::format("\nlabel = s:unix:Generated:{}\n", i / per_label);
    std::string sig = generated_signature(i);
    if (!p0fbpf::parse_signature(sig) || !seen.insert(sig).second) {
      fmt::print(stderr, "generated signature {} '{}' is invalid or repeated\n", i, sig);
      std::exit(2);
    }
    out += fmt::format("sig   = {}\n", sig);
  }
  return out;
}

// A generated database written to a temporary file, removed when done.
struct GeneratedDatabaseFile {
  std::string path;
  explicit GeneratedDatabaseFile(std::size_t count, std::size_t labels = kGeneratedLabels) {
    char name[] = "/tmp/p0fbpf_bench_db_XXXXXX";
    int fd = mkstemp(name);
    if (fd < 0 || close(fd) != 0) {
      std::fprintf(stderr, "cannot make a temporary file for the database\n");
      std::exit(2);
    }
    path = name;
    std::ofstream out(path);
    out << generated_database(count, labels);
    if (!out.flush()) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      std::exit(2);
    }
  }
  ~GeneratedDatabaseFile() { unlink(path.c_str()); }
  GeneratedDatabaseFile(const GeneratedDatabaseFile&) = delete;
  GeneratedDatabaseFile& operator=(const GeneratedDatabaseFile&) = delete;
};
