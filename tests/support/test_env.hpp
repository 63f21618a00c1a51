// How tests treat missing tools: skipped with a message on a developer's
// machine, a failure under CI=true, where everything must run.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace p0fbpf::testing {

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
