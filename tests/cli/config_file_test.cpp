// --config FILE: a command's options from a file, as the command line gives
// them, for every command; the command line wins; a file from a stranger
// is bounded and its text reaches the terminal printable only.
#include "cli/config_file.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "test_env.hpp"

namespace p0fbpf::cli {
namespace {

using testing::run_p0fbpf;

constexpr const char* kCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

std::string config(const std::string& name, const std::string& text) {
  std::string path = testing::temp_file("config_", name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(ConfigFile, GivesTheOptionsTheCommandLineWould) {
  std::string file = config("asm.toml", std::string("signature = [\"") + kCard +
                                            "\"]\nformat = \"asm\"\nloose = true\nmax-insns = 100\n");
  auto from_file = run_p0fbpf({"--config", file});
  auto from_line = run_p0fbpf({"-f", "asm", "--loose", "--max-insns", "100", kCard});
  ASSERT_EQ(from_file.status, 0) << from_file.err;
  EXPECT_EQ(from_file.out, from_line.out);
  // Not the default program: the file was read.
  EXPECT_NE(from_file.out, run_p0fbpf({kCard}).out);
  EXPECT_NE(from_file.out, run_p0fbpf({"-f", "asm", kCard}).out);
}

TEST(ConfigFile, TheCommandLineWins) {
  std::string file = config("wins.toml", std::string("signature = [\"") + kCard + "\"]\nformat = \"asm\"\n");
  auto outcome = run_p0fbpf({"--config", file, "-f", "c"});
  ASSERT_EQ(outcome.status, 0) << outcome.err;
  EXPECT_EQ(outcome.out, run_p0fbpf({"-f", "c", kCard}).out);
}

// A file given after a command's name holds that command's options, its
// positionals by name: here test's -r, which fails on a missing capture
// named in the file, and xdp attach's device.
TEST(ConfigFile, ACommandsFileHoldsThatCommandsOptions) {
  std::string test_file = config("test.toml", "read = [\"/nonexistent/flood.pcap\"]\n");
  auto test = run_p0fbpf({"test", "--config", test_file, kCard});
  EXPECT_EQ(test.status, 2);
  EXPECT_NE(test.err.find("/nonexistent/flood.pcap"), std::string::npos) << test.err;

  // Positionals fill in order: the device and the signatures both from the
  // file (a signature on the command line would be taken for the device).
  std::string xdp_file = config("xdp.toml", std::string("device = \"p0fbpfnodev0\"\nsignature = [\"") + kCard +
                                                "\"]\ncount-only = true\n");
  auto xdp = run_p0fbpf({"xdp", "attach", "--config", xdp_file});
  EXPECT_EQ(xdp.status, 2);
  EXPECT_NE(xdp.err.find("p0fbpfnodev0"), std::string::npos) << xdp.err;
  EXPECT_TRUE(xdp.out.empty());

  // A name the command does not have is an error, not ignored: --format
  // is the compiler's, not fingerprint's.
  std::string wrong = config("wrong.toml", "format = \"asm\"\n");
  auto fingerprint = run_p0fbpf({"fingerprint", "--config", wrong, "-r", "/nonexistent/x.pcap"});
  EXPECT_EQ(fingerprint.status, 2);
  EXPECT_NE(fingerprint.err.find("format"), std::string::npos) << fingerprint.err;
}

TEST(ConfigFile, BadFilesExitTwoWithNothingOnStdout) {
  std::vector<std::pair<std::string, std::string>> files = {
      {"unknown.toml", std::string("signature = [\"") + kCard + "\"]\nno-such-option = 1\n"},
      {"value.toml", std::string("signature = [\"") + kCard + "\"]\nmax-insns = \"many\"\n"},
      {"large.toml", std::string(kMaxConfigBytes + 1, '#')},
      {"escape.toml", "bogus\x1b[31m = 1\n"},
  };
  for (const auto& [name, text] : files) {
    auto outcome = run_p0fbpf({"--config", config(name, text)});
    EXPECT_EQ(outcome.status, 2) << name;
    EXPECT_TRUE(outcome.out.empty()) << name;
    EXPECT_EQ(outcome.err.find('\x1b'), std::string::npos) << name << ": " << outcome.err;
  }
  auto missing = run_p0fbpf({"--config", "/nonexistent/p0fbpf.toml", kCard});
  EXPECT_EQ(missing.status, 2);
  EXPECT_TRUE(missing.out.empty());
}

TEST(ConfigFile, EveryCommandTakesIt) {
  for (std::vector<std::string> command :
       {std::vector<std::string>{}, {"test"}, {"fingerprint"}, {"pin"}, {"suggest"}, {"xdp", "attach"},
        {"xdp", "stats"}, {"xdp", "detach"}, {"xdp", "list"}, {"xdp", "prune"}}) {
    command.push_back("--help");
    auto help = run_p0fbpf(command);
    EXPECT_EQ(help.status, 0);
    EXPECT_NE(help.out.find("--config FILE"), std::string::npos) << command.front();
  }
}

TEST(ConfigFirst, MovesAConfigGivenAfterACommandInFrontOfIt) {
  auto moved = [](std::vector<const char*> args) { return config_first(static_cast<int>(args.size()), args.data()); };
  EXPECT_EQ(moved({"p0fbpf", "xdp", "attach", "--config", "f", "eth0"}),
            (std::vector<std::string>{"p0fbpf", "--config", "f", "xdp", "attach", "eth0"}));
  EXPECT_EQ(moved({"p0fbpf", "test", "--config=f", "-r", "x"}),
            (std::vector<std::string>{"p0fbpf", "--config=f", "test", "-r", "x"}));
  // After "--" every argument is a positional.
  EXPECT_EQ(moved({"p0fbpf", "--", "--config", "f"}), (std::vector<std::string>{"p0fbpf", "--", "--config", "f"}));
  EXPECT_EQ(moved({"p0fbpf", "-f", "asm"}), (std::vector<std::string>{"p0fbpf", "-f", "asm"}));
}

}  // namespace
}  // namespace p0fbpf::cli
