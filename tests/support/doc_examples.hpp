// Running the examples a document shows (the man page, the README) as a
// user would: each block in bash with `set -e -o pipefail`, from a
// directory holding flood.pcap (the SYNs of tests/fixtures/syn-mix.pcap that
// the design-card signature matches) and monday.pcap (the others), with the
// p0fbpf under test first in PATH. A block that changes the system runs in
// a network namespace of its own with an Ethernet device eth0 (a veth, up).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>

#include "cli_run.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {

// A code block a document marks as an example.
struct DocExample {
  int line = 0;             // of its marker in the document
  bool namespaced = false;  // runs in the namespace with eth0
  bool not_run = false;     // shown but not run (the man page says why)
  std::string script;
};

class DocExamples : public ::testing::Test {
 protected:
  // `prefix` names the directory and the namespace (p0fbpf-PREFIX-PID).
  explicit DocExamples(std::string prefix) : prefix_(std::move(prefix)) {}

  void SetUp() override {
    dir_ = ::testing::TempDir() + "p0fbpf_" + prefix_ + "_" + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/bin");
    std::filesystem::create_symlink(P0FBPF_BINARY, dir_ + "/bin/p0fbpf");
    const std::string mix = std::string(P0FBPF_TEST_DATA) + "/fixtures/syn-mix.pcap";
    const std::string card = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
    ASSERT_EQ(run_p0fbpf({"test", "-r", mix, "-w", dir_ + "/flood.pcap", card}).status, 0);
    ASSERT_EQ(run_p0fbpf({"test", "-n", "-r", mix, "-w", dir_ + "/monday.pcap", card}).status, 0);
  }
  void TearDown() override {
    if (!namespace_.empty()) run_shell("ip netns del " + namespace_);
    std::filesystem::remove_all(dir_);
  }

  // Runs `script`; its exit status, and its output in `out`. A namespaced
  // block needs root: without it the test skips (fails under CI=true).
  int run(const std::string& script, bool namespaced, std::size_t number, std::string& out) {
    std::string path = dir_ + "/example_" + std::to_string(number) + ".sh";
    std::ofstream(path) << "set -e -o pipefail\n" << script;
    std::string in;
    if (namespaced) {
      if (namespace_.empty() && !make_namespace()) {
        out = "cannot make a namespace: " + message_;
        return -1;
      }
      in = "ip netns exec " + namespace_ + " ";
    }
    int status = 0;
    out = run_shell(fmt::format("cd {} && PATH={}/bin:\"$PATH\" {}bash {} </dev/null", dir_, dir_, in, path),
                    &status);
    return status;
  }

  // Runs the example (the `number`th of `document`) and expects exit 0.
  void expect_exits_zero(const DocExample& example, std::size_t number, const std::string& document) {
    std::string out;
    int status = run(example.script, example.namespaced, number, out);
    EXPECT_EQ(status, 0) << "the example at " << document << ":" << example.line << "\n"
                         << example.script << "\n" << out;
  }

  const std::string& dir() const { return dir_; }

 private:
  bool make_namespace() {
    namespace_ = "p0fbpf-" + prefix_ + "-" + std::to_string(getpid());
    int status = 0;
    message_ = run_shell(fmt::format(
                             "ip netns add {0} && ip -n {0} link add eth0 type veth peer name eth0p && "
                             "ip -n {0} link set eth0 up && ip -n {0} link set eth0p up && ip -n {0} link set lo up",
                             namespace_),
                         &status);
    return status == 0;
  }

  std::string prefix_, dir_, namespace_, message_;
};

}  // namespace p0fbpf::testing
