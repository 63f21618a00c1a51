// The man page p0fbpf(1) (docs/p0fbpf.1.scd, turned into roff by scdoc at
// build time): man and groff render it without a warning; every example
// block it marks runs and exits 0 (those that change the system in a network
// namespace of their own, root only); every long option of every command's
// --help is in it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "capture_bytes.hpp"
#include "cli_run.hpp"
#include "doc_examples.hpp"
#include "test_env.hpp"
#include "text_match.hpp"

namespace p0fbpf::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = std::string(P0FBPF_TEST_DATA) + "/../docs/p0fbpf.1.scd";

// The literal blocks after "; example" lines.
std::vector<DocExample> examples(std::vector<std::string>& problems) {
  std::vector<DocExample> out;
  std::istringstream lines(read_bytes(kSource));
  std::optional<DocExample> pending;
  bool in_block = false;
  int number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.rfind("; example", 0) == 0) {
      const bool not_run = line.rfind("; example: not-run (", 0) == 0 && line.back() == ')';
      if (line != "; example" && line != "; example: namespace" && !not_run) {
        problems.push_back(fmt::format("line {}: unknown marker '{}'", number, line));
      }
      if (pending) problems.push_back(fmt::format("line {}: a marker without a block", pending->line));
      pending = DocExample{number, line == "; example: namespace", not_run, ""};
      continue;
    }
    if (line == "```") {
      if (in_block && pending) {
        if (pending->script.empty()) problems.push_back(fmt::format("line {}: an empty example", pending->line));
        out.push_back(*pending);
        pending.reset();
      }
      in_block = !in_block;
      continue;
    }
    if (in_block && pending) pending->script += line + "\n";
    else if (pending && !line.empty()) problems.push_back(fmt::format("line {}: text between a marker and its block", number));
  }
  if (pending) problems.push_back(fmt::format("line {}: a marker without a block", pending->line));
  return out;
}

TEST(ManPage, RendersWithoutWarnings) {
  ASSERT_TRUE(fs::exists(P0FBPF_MAN_PAGE)) << P0FBPF_MAN_PAGE;
  int status = 0;
  run_shell("command -v man && command -v groff", &status);
  P0FBPF_REQUIRE(status == 0, "man or groff missing (apt-get install man-db groff-base)");
  std::string warnings = run_shell(fmt::format("MANWIDTH=80 man --warnings -l {} 2>&1 >/dev/null", P0FBPF_MAN_PAGE));
  EXPECT_EQ(warnings, "");
  std::string groff = run_shell(fmt::format("groff -man -ww -z {}", P0FBPF_MAN_PAGE), &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(groff, "");
  // The page is the whole source: its last section and a late example.
  std::string page = run_shell(fmt::format("MANWIDTH=80 man -l {} 2>/dev/null", P0FBPF_MAN_PAGE));
  EXPECT_NE(page.find("SEE ALSO"), std::string::npos) << page;
  EXPECT_NE(page.find("p0fbpf xdp stats eth0 --prometheus"), std::string::npos) << page;
}

// Each option --help names (every command's) is in the page.
TEST(ManPage, NamesEveryOptionOfEveryCommand) {
  const std::string source = read_bytes(kSource);
  std::size_t checked = 0;
  for (const char* command : {"", "test", "fingerprint", "suggest", "convert", "pin", "xdp attach", "xdp stats",
                                     "xdp detach", "xdp list", "xdp prune"}) {
    std::string help = run_shell(shell_quote(P0FBPF_BINARY) + " " + command + " --help");
    // Options are listed from "Options:" to the next blank line.
    auto begin = help.find("\nOptions:\n");
    ASSERT_NE(begin, std::string::npos) << command << "\n" << help;
    auto end = help.find("\n\n", begin + 1);
    std::string options = help.substr(begin, end - begin);
    for (const auto& option : testing::each_match(options, "(^|\\n)  (-[A-Za-z],)?(--[a-z0-9-]+)")) {
      const std::string& name = option[2];
      if (name == "--help") continue;
      EXPECT_NE(source.find("*" + name), std::string::npos) << "p0fbpf " << command << " " << name;
      ++checked;
    }
  }
  EXPECT_GT(checked, 60u);
}

class ManPageExamples : public DocExamples {
 protected:
  ManPageExamples() : DocExamples("deb-man") {}
};

TEST_F(ManPageExamples, EveryExampleExitsZero) {
  std::vector<std::string> problems;
  std::vector<DocExample> all = examples(problems);
  for (const auto& p : problems) ADD_FAILURE() << kSource << ": " << p;
  ASSERT_GE(all.size(), 9u);
  std::size_t namespaced = 0, not_run = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const DocExample& e = all[i];
    if (e.not_run) {
      ++not_run;
      continue;
    }
    if (e.namespaced) {
      P0FBPF_REQUIRE(geteuid() == 0, "the examples that change the system run in a namespace: root only");
      ++namespaced;
    }
    expect_exits_zero(e, i, kSource);
  }
  EXPECT_GE(namespaced, 3u);
  // Examples not run stay the exception.
  EXPECT_LE(not_run, 1u);
}

}  // namespace
}  // namespace p0fbpf::testing
