// How tests treat missing tools: skipped with a message on a developer's
// machine, a failure under CI=true, where everything must run.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace p0fbpf::testing {

// Runs a shell command; its output (stdout and stderr) and exit status.
inline std::string run_shell(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  char buffer[4096];
  std::size_t n;
  while (pipe && (n = fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  int raw = pipe ? pclose(pipe) : -1;
  if (status) *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return out;
}

// Whether a tool run as `timeout SECONDS TOOL` through run_shell gave up
// rather than answered: it died of a signal (run_shell's -1 for the shell,
// timeout's 128 + the signal for the tool) or hung until timeout ended it
// (124). The tests that drive scanners run such a tool again.
inline bool tool_gave_up(int status) { return status == -1 || status == 124 || status > 128; }

// A file name under the test temporary directory, of this process's own;
// the file goes when the test program exits.
inline std::string temp_file(const std::string& prefix, const std::string& name) {
  static struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      for (const auto& path : paths) std::remove(path.c_str());
    }
  } cleanup;
  std::string path = ::testing::TempDir() + prefix + std::to_string(getpid()) + "_" + name;
  cleanup.paths.push_back(path);
  return path;
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

}  // namespace p0fbpf::testing

// Skips the test outside CI; fails it under CI=true.
#define P0FBPF_REQUIRE(condition, message)                          \
  do {                                                              \
    if (!(condition)) {                                             \
      if (::p0fbpf::testing::running_in_ci()) FAIL() << (message);  \
      GTEST_SKIP() << (message);                                    \
    }                                                               \
  } while (0)
