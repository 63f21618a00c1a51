// The tools a generated script runs, as tests hand them to it: a directory
// to put first in PATH, of wrappers named iptables, ip6tables,
// iptables-restore, ip6tables-restore (for one backend: iptables-legacy or
// iptables-nft), tc and p0fbpf, each running the real tool. Every call is
// counted, and a run can be interrupted at a fixed point: with
//   P0FBPF_TEST_SIGNAL=SIG P0FBPF_TEST_TARGET=PID (or -PGID)
//   P0FBPF_TEST_SIGNAL_AT=N (the Nth call) or P0FBPF_TEST_SIGNAL_ARGS=TEXT
//   (the first call whose arguments start with TEXT)
//   P0FBPF_TEST_SIGNAL_WHEN=before (the default) or after
// the wrapper sends SIG to the target before the tool runs, or after it
// has run (then it exits with the tool's status).
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "test_env.hpp"

namespace p0fbpf::testing {

class ScriptTools {
 public:
  // backend: "legacy" or "nft"; empty for tc and p0fbpf only.
  explicit ScriptTools(const std::string& backend = "") {
    static int made = 0;
    dir_ = ::testing::TempDir() + "p0fbpf_tools_" + std::to_string(getpid()) + "_" + std::to_string(++made);
    mkdir(dir_.c_str(), 0700);
    std::vector<std::pair<std::string, std::string>> tools = {{"tc", "tc"}};
    if (!backend.empty()) {
      for (const char* tool : {"iptables", "ip6tables"}) {
        tools.emplace_back(tool, std::string(tool) + "-" + backend);
        tools.emplace_back(std::string(tool) + "-restore", std::string(tool) + "-" + backend + "-restore");
      }
    }
    ok_ = true;
    for (const auto& [name, real] : tools) {
      int status = 0;
      std::string path = run_shell("command -v " + real, &status);
      if (status != 0 || path.empty()) {
        ok_ = false;
        missing_ += " " + real;
        continue;
      }
      path.pop_back();
      write_wrapper(name, path);
    }
    write_wrapper("p0fbpf", P0FBPF_BINARY);
  }
  ~ScriptTools() { run_shell("rm -rf '" + dir_ + "'"); }
  ScriptTools(const ScriptTools&) = delete;
  ScriptTools& operator=(const ScriptTools&) = delete;

  bool ok() const { return ok_; }
  const std::string& missing() const { return missing_; }
  const std::string& dir() const { return dir_; }
  // What goes before a command to run it with these tools.
  std::string env() const { return "env PATH=" + dir_ + ":$PATH P0FBPF=" + dir_ + "/p0fbpf "; }
  // The calls since the last reset().
  int calls() const {
    std::ifstream in(dir_ + "/count");
    int n = 0;
    in >> n;
    return n;
  }
  void reset() const {
    std::remove((dir_ + "/count").c_str());
    rmdir((dir_ + "/hit").c_str());
  }

 private:
  void write_wrapper(const std::string& name, const std::string& real) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/bash\n"
                           "dir=$(dirname \"$0\")\n"
                           "{ flock 8; n=$(( $(cat \"$dir/count\" 2>/dev/null || echo 0) + 1 )); echo $n > \"$dir/count\"; } "
                           "8>>\"$dir/count.lock\"\n"
                           "hit=\n"
                           "if [ -n \"${P0FBPF_TEST_SIGNAL_AT-}\" ] && [ \"$n\" = \"$P0FBPF_TEST_SIGNAL_AT\" ]; then hit=1; fi\n"
                           "if [ -n \"${P0FBPF_TEST_SIGNAL_ARGS-}\" ] && [[ \"$*\" == \"$P0FBPF_TEST_SIGNAL_ARGS\"* ]] &&\n"
                           "   mkdir \"$dir/hit\" 2>/dev/null; then hit=1; fi\n"
                           "if [ -n \"$hit\" ] && [ \"${P0FBPF_TEST_SIGNAL_WHEN-before}\" = after ]; then\n"
                           "  status=0\n"
                           "  '" << real << "' \"$@\" || status=$?\n"
                           "  kill -s \"$P0FBPF_TEST_SIGNAL\" -- \"$P0FBPF_TEST_TARGET\"\n"
                           "  exit $status\n"
                           "fi\n"
                           "[ -z \"$hit\" ] || kill -s \"$P0FBPF_TEST_SIGNAL\" -- \"$P0FBPF_TEST_TARGET\"\n"
                           "exec '" << real << "' \"$@\"\n";
    chmod(path.c_str(), 0755);
  }

  std::string dir_, missing_;
  bool ok_ = false;
};

// The command that runs `script` (a path and arguments) as its own process
// group, with `variables` (NAME=VALUE ...) and P0FBPF_TEST_TARGET set to
// its pid, or to its process group when `group` (as Ctrl-C signals it).
inline std::string interruptible(const std::string& variables, const std::string& script, bool group) {
  return variables + " setsid bash -c 'P0FBPF_TEST_TARGET=" + (group ? "-" : "") + "$$; export P0FBPF_TEST_TARGET; " +
         "exec bash " + script + "'";
}

// Interrupts at every point: `run` (a script and its arguments, run in
// `in`, e.g. "ip netns exec NS ") is run once whole, to count the tools it
// calls, then once per call N and moment (before the tool runs or after it)
// with a signal that a seeded generator picks (TERM or HUP to the script,
// or INT to its process group as Ctrl-C sends it; P0FBPF_SEED, 20 unless
// set). Each run must fail, and leave `state()` as before (the script
// says "nothing was changed") or as after a whole run (it says the change
// "was complete"); `undo` (the script with the opposite arguments) brings
// it back to before.
inline void expect_interrupts_leave_all_or_nothing(const ScriptTools& tools, const std::string& in,
                                                   const std::string& run, const std::string& undo,
                                                   const std::function<std::string()>& state) {
  const std::string before = state();
  int status = 0;
  tools.reset();
  auto start = std::chrono::steady_clock::now();
  std::string out = run_shell(in + tools.env() + "bash " + run, &status);
  const auto whole = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  ASSERT_EQ(status, 0) << out;
  const int calls = tools.calls();
  const std::string after = state();
  ASSERT_NE(after, before);
  ASSERT_GT(calls, 1);
  auto back = [&] {
    std::string undone = run_shell(in + tools.env() + "bash " + undo, &status);
    EXPECT_EQ(status, 0) << undone;
    EXPECT_EQ(state(), before);
  };
  back();
  int completed = 0, untouched = 0;
  const char* seed_text = std::getenv("P0FBPF_SEED");
  const std::uint64_t seed = seed_text ? std::stoull(seed_text) : 20;
  std::mt19937_64 rng(seed);
  const std::string signals[] = {"TERM", "HUP", "INT"};
  for (int at = 1; at <= calls; ++at) {
    {
      for (const char* when : {"before", "after"}) {
        const std::string& signal = signals[rng() % 3];
        SCOPED_TRACE("SIG" + signal + " " + when + " call " + std::to_string(at) + " of " + std::to_string(calls) +
                     " of bash " + run);
        tools.reset();
        std::string variables = tools.env() + "P0FBPF_TEST_SIGNAL=" + signal +
                                " P0FBPF_TEST_SIGNAL_AT=" + std::to_string(at) + " P0FBPF_TEST_SIGNAL_WHEN=" + when;
        out = run_shell(in + interruptible(variables, run, signal == "INT"), &status);
        std::string now = state();
        EXPECT_NE(status, 0) << out;
        if (now == after) {
          EXPECT_NE(out.find("was complete"), std::string::npos) << out;
          ++completed;
          back();
        } else {
          EXPECT_EQ(now, before) << out;
          EXPECT_NE(out.find("nothing was changed"), std::string::npos) << out;
          ++untouched;
        }
      }
    }
  }
  // And at moments between the calls too: after a delay the generator
  // picks within the time a whole run took (then the signal may come too
  // late, and the run completes as if none had been sent).
  int late = 0;
  for (int i = 0; i < 12; ++i) {
    const std::string& signal = signals[rng() % 3];
    const double delay = static_cast<double>(rng() % 1000) / 1000.0 * static_cast<double>(whole.count()) / 1e6;
    SCOPED_TRACE("SIG" + signal + " after " + std::to_string(delay) + " s of bash " + run);
    out = run_shell(in + tools.env() + "bash -c 'setsid bash " + run + " & p=$!; sleep " + std::to_string(delay) +
                        "; kill -s " + signal + " -- " + (signal == "INT" ? "-" : "") +
                        "$p 2>/dev/null && echo p0fbpf-test-sent; wait $p'",
                    &status);
    std::string now = state();
    if (out.find("p0fbpf-test-sent") == std::string::npos) {
      ++late;
      EXPECT_EQ(status, 0) << out;
      EXPECT_EQ(now, after) << out;
    } else if (now == after) {
      EXPECT_TRUE(status == 0 || out.find("was complete") != std::string::npos) << out;
      ++completed;
    } else {
      EXPECT_EQ(now, before) << out;
      EXPECT_NE(status, 0) << out;
      ++untouched;
    }
    if (now == after) back();
  }
  std::cout << "bash " << run << " (seed " << seed << "): " << calls * 2 + 12 - late << " interrupted runs, " << completed << " completed, " << untouched
            << " changed nothing\n";
}

}  // namespace p0fbpf::testing
