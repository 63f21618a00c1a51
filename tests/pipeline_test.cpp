// The pipeline's passes (src/pipeline.cpp) as compile() runs them.
#include <gtest/gtest.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "p0fbpf/compiler.hpp"
#include "pass_verdicts.hpp"

namespace p0fbpf {
namespace {

// Every pass that rewrites a program keeps the IR's verdict on packets
// around every signature (tests/support/pass_verdicts.hpp), each named in
// the failure; one compilation of each pair of signatures serves them all.
// The other passes change what a program accepts on purpose, and each
// pass's own file tests it: lower makes the IR of a signature, ip-version
// keeps only the branches of --ip-version's version, syn-gate adds the
// gate that decides about what is not a SYN. A new pass must be in one of
// the two lists.
TEST(Pipeline, EveryPassKeepsEveryVerdict) {
  const std::vector<std::string_view> keeping = {
      "link",           "merge-checks",   "drop-implied-lengths", "share-branches",
      "order-versions", "late-version-word", "widen-masks", "group-branches",     "guard-reads",  "share-versions",
      "drop-last-guards", "copy-per-tag", "frame-once", "resolve-link-base",
  };
  const std::vector<std::string_view> changing = {"lower", "ip-version", "syn-gate"};
  for (std::string_view name : pass_names()) {
    bool listed = std::count(keeping.begin(), keeping.end(), name) + std::count(changing.begin(), changing.end(), name);
    EXPECT_TRUE(listed) << name << ": a pass that neither list names";
  }
  EXPECT_EQ(keeping.size() + changing.size(), pass_names().size());
  testing::expect_passes_keep_verdicts(keeping);
}

}  // namespace
}  // namespace p0fbpf
