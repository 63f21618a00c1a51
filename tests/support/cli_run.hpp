// Runs the p0fbpf binary of this build (P0FBPF_BINARY, defined for every
// test) as a user would, and collects its exit status and output.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "capture_bytes.hpp"  // read_bytes

namespace p0fbpf::testing {

struct Outcome {
  int status = -1;  // the exit status; -1 if the program did not exit
  std::string out;
  std::string err;
};

// `arg` in single quotes for sh.
inline std::string shell_quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// p0fbpf ARGS with `input` on standard input. Standard output goes to
// `stdout_path` if given (Outcome::out is then empty), else into out.
// Files of this process's own, as ctest runs tests in parallel.
inline Outcome run_p0fbpf(const std::vector<std::string>& args, const std::string& input = "",
                          const std::string& stdout_path = "") {
  std::string dir = ::testing::TempDir() + "p0fbpf_run_" + std::to_string(getpid()) + "_";
  std::string in = dir + "in", out = stdout_path.empty() ? dir + "out" : stdout_path, err = dir + "err";
  std::ofstream(in, std::ios::binary) << input;
  std::string command = shell_quote(P0FBPF_BINARY);
  for (const auto& a : args) command += " " + shell_quote(a);
  command += " < " + in + " > " + shell_quote(out) + " 2> " + err;
  Outcome r;
  int raw = std::system(command.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  if (stdout_path.empty()) {
    r.out = read_bytes(out);
    std::remove(out.c_str());
  }
  r.err = read_bytes(err);
  std::remove(in.c_str());
  std::remove(err.c_str());
  return r;
}

}  // namespace p0fbpf::testing
