// Big signature selections: the wall time and peak memory (wait4's
// ru_maxrss) of the real p0fbpf process over a generated database of
// distinct valid signatures under 1,000 labels:
//   - p0fbpf -F DB --label . --split  for 1,000, 10,000 and 100,000
//     signatures (target for 100,000: at most 30 s and 1 GB);
//   - p0fbpf -F DB --label .  (no --split) over 10,000, which is refused
//     for being over 64 instructions: how long until it says so;
//   - p0fbpf -F DB --label . --split --max-insns 4096 -f asm over 3,000
//     under 30 labels: long programs, for code generation.
//
//   build/bench/selection_bench [--largest N] [--binary PATH]
// (N: the largest selection, 100000 by default; PATH: another p0fbpf to
// measure, e.g. an older build)
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "generated_signatures.hpp"
#include "measured_run.hpp"

namespace {

constexpr double kTargetSeconds = 30;
constexpr double kTargetMegabytes = 1024;

std::string binary = P0FBPF_BINARY;

struct Run {
  double seconds = 0;
  double megabytes = 0;  // peak resident set
  int exit_status = -1;
  std::string first_error_line;
};

// Runs p0fbpf with `args`, keeping its stderr's first line.
Run run_p0fbpf(const std::vector<std::string>& args) {
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  MeasuredRun m = measured_run(all, "selection_bench");
  return {m.seconds, m.megabytes, m.exit_status, m.errors.substr(0, m.errors.find('\n'))};
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t largest = 100000;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--largest") largest = std::stoul(argv[i + 1]);
    if (std::string(argv[i]) == "--binary") binary = argv[i + 1];
  }
  std::vector<std::size_t> sizes;
  for (std::size_t n = 1000; n < largest; n *= 10) sizes.push_back(n);
  sizes.push_back(largest);

  fmt::print("p0fbpf -F DB over generated distinct signatures under {} labels ({})\n\n", kGeneratedLabels, binary);
  fmt::print("{:<30} {:>10} {:>9} {:>12}   {}\n", "command", "signatures", "wall s", "peak RSS MB", "target");
  bool failed = false;
  for (std::size_t n : sizes) {
    GeneratedDatabaseFile db(n);
    Run r = run_p0fbpf({"-F", db.path, "--label", ".", "--split"});
    std::string target;
    if (n == 100000) {
      bool met = r.seconds <= kTargetSeconds && r.megabytes <= kTargetMegabytes;
      target = fmt::format("<= {:.0f} s, <= {:.0f} MB: {}", kTargetSeconds, kTargetMegabytes, met ? "met" : "MISSED");
    }
    if (r.exit_status != 0) {
      target += fmt::format(" FAILED (exit {}): {}", r.exit_status, r.first_error_line);
      failed = true;
    }
    fmt::print("{:<30} {:>10} {:>9.2f} {:>12.0f}   {}\n", "--label . --split", n, r.seconds, r.megabytes, target);
  }
  {
    std::size_t n = std::min<std::size_t>(10000, largest);
    GeneratedDatabaseFile db(n);
    Run r = run_p0fbpf({"-F", db.path, "--label", "."});
    bool refused = r.exit_status == 2 && r.first_error_line.find("allowed") != std::string::npos;
    failed = failed || !refused;
    fmt::print("{:<30} {:>10} {:>9.2f} {:>12.0f}   {}\n", "--label . (refused, no --split)", n, r.seconds,
               r.megabytes, refused ? "refused: " + r.first_error_line : "NOT REFUSED");
  }
  {
    // A hundred signatures a label in programs of up to 4,096 instructions:
    // code generation's block merging and jump layout (far jumps) at work.
    std::size_t n = std::min<std::size_t>(3000, largest);
    GeneratedDatabaseFile db(n, n / 100);
    Run r = run_p0fbpf({"-F", db.path, "--label", ".", "--split", "--max-insns", "4096", "-f", "asm"});
    std::string outcome = fmt::format("{} labels", n / 100);
    if (r.exit_status != 0) {
      outcome += fmt::format(" FAILED (exit {}): {}", r.exit_status, r.first_error_line);
      failed = true;
    }
    fmt::print("{:<30} {:>10} {:>9.2f} {:>12.0f}   {}\n", "--split --max-insns 4096 -f asm", n, r.seconds,
               r.megabytes, outcome);
  }
  return failed ? 1 : 0;
}
