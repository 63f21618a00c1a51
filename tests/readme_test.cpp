// The README's workflow as a user runs it: every code block after a line
// "<!-- example -->" runs in bash and exits 0, in order, from a directory
// with flood.pcap and monday.pcap; after "<!-- example: namespace -->" in a
// network namespace of its own with a device eth0 (root only), where the
// blocks that deploy, watch and remove run one after the other.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "doc_examples.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

const std::string kReadme = std::string(P0FBPF_TEST_DATA) + "/../README.md";

std::size_t indent_of(const std::string& line) { return line.find_first_not_of(' '); }

// The indented code block after each marker: the lines indented four more
// than the marker, up to the first line indented less.
std::vector<DocExample> blocks(std::vector<std::string>& problems) {
  std::ifstream in(kReadme);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::vector<DocExample> out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::size_t at = indent_of(lines[i]);
    if (at == std::string::npos) continue;
    std::string marker = lines[i].substr(at);
    if (marker != "<!-- example -->" && marker != "<!-- example: namespace -->") {
      if (marker.starts_with("<!-- example")) problems.push_back("line " + std::to_string(i + 1) + ": unknown marker");
      continue;
    }
    DocExample block{static_cast<int>(i + 1), marker == "<!-- example: namespace -->", false, ""};
    std::size_t code = at + 4, j = i + 1;
    while (j < lines.size() && indent_of(lines[j]) == std::string::npos) ++j;
    for (; j < lines.size(); ++j) {
      std::size_t indent = indent_of(lines[j]);
      if (indent == std::string::npos) {
        block.script += "\n";
        continue;
      }
      if (indent < code) break;
      block.script += lines[j].substr(code) + "\n";
    }
    if (block.script.find_first_not_of('\n') == std::string::npos) {
      problems.push_back("line " + std::to_string(i + 1) + ": a marker without a code block after it");
    }
    out.push_back(block);
  }
  return out;
}

class ReadmeExamples : public DocExamples {
 protected:
  ReadmeExamples() : DocExamples("readme") {}
};

TEST_F(ReadmeExamples, TheWorkflowRunsAsShown) {
  std::vector<std::string> problems;
  std::vector<DocExample> all = blocks(problems);
  for (const auto& p : problems) ADD_FAILURE() << kReadme << ": " << p;
  // Fingerprint, suggest, test, deploy, watch, remove.
  ASSERT_GE(all.size(), 6u);
  P0FBPF_REQUIRE(geteuid() == 0, "the README's deploy, watch and remove steps run in a namespace: root only");
  for (std::size_t i = 0; i < all.size(); ++i) {
    expect_exits_zero(all[i], i, kReadme);
  }
}

}  // namespace
}  // namespace p0fbpf::testing
