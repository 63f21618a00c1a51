// Shell completion (docs/completion/): the bash function driven as bash
// drives it (COMP_WORDS, COMP_CWORD, then COMPREPLY) for commands, options,
// formats, links, devices and labels, labels from a hostile database
// included; its option lists are each command's --help; the zsh script
// parses (zsh -n).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "test_env.hpp"
#include "text_match.hpp"

namespace p0fbpf::testing {
namespace {

namespace fs = std::filesystem;

const std::string kBash = std::string(P0FBPF_TEST_DATA) + "/../docs/completion/p0fbpf.bash";
const std::string kZsh = std::string(P0FBPF_TEST_DATA) + "/../docs/completion/_p0fbpf";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// COMPREPLY for the words (the last is being completed), one entry a line,
// sorted; the first word is this build's p0fbpf.
std::vector<std::string> complete(const std::vector<std::string>& words) {
  std::string array = shell_quote(P0FBPF_BINARY);
  for (const auto& w : words) array += " " + shell_quote(w);
  std::string script = "source " + shell_quote(kBash) + " && COMP_WORDS=(" + array +
                       ") && COMP_CWORD=" + std::to_string(words.size()) +
                       " && _p0fbpf && printf '%s\\n' \"${COMPREPLY[@]}\"";
  std::string out = run_shell("bash -c " + shell_quote(script) + " 2>&1");
  std::vector<std::string> replies;
  for (const auto& line : lines_of(out)) {
    if (!line.empty()) replies.push_back(line);
  }
  std::sort(replies.begin(), replies.end());
  return replies;
}

using Words = std::vector<std::string>;

TEST(BashCompletion, Commands) {
  EXPECT_EQ(complete({""}), (Words{"convert", "fingerprint", "pin", "suggest", "test", "xdp"}));
  EXPECT_EQ(complete({"convert", "--from", ""}), (Words{"muonfp", "satori"}));
  EXPECT_EQ(complete({"x"}), (Words{"xdp"}));
  EXPECT_EQ(complete({"xdp", ""}), (Words{"attach", "detach", "list", "prune", "stats"}));
  EXPECT_EQ(complete({"xdp", "p"}), (Words{"prune"}));
}

TEST(BashCompletion, OptionsOfEachCommand) {
  EXPECT_EQ(complete({"xdp", "stats", "--p"}), (Words{"--prometheus"}));
  EXPECT_EQ(complete({"fingerprint", "--t"}), (Words{"--top"}));
  EXPECT_EQ(complete({"suggest", "--max-"}), (Words{"--max-collateral", "--max-signatures"}));
  // Not another command's.
  EXPECT_EQ(complete({"test", "--pr"}), (Words{}));
  EXPECT_EQ(complete({"--pri"}), (Words{"--print-ir"}));
}

TEST(BashCompletion, FormatsLinksAndModes) {
  EXPECT_EQ(complete({"-f", ""}), (Words{"asm", "c", "ddd", "dot", "iptables", "nft", "script", "xdp"}));
  EXPECT_EQ(complete({"--format", "d"}), (Words{"ddd", "dot"}));
  // suggest prints fewer formats.
  EXPECT_EQ(complete({"suggest", "-r", "x.pcap", "-f", ""}), (Words{"asm", "c", "iptables", "nft", "script", "xdp"}));
  EXPECT_EQ(complete({"-f", "nft", "--hook", ""}), (Words{"ingress", "input", "iptables", "prerouting", "tc"}));
  EXPECT_EQ(complete({"--link", ""}), (Words{"ether", "raw", "sll", "sll2"}));
  EXPECT_EQ(complete({"xdp", "attach", "eth0", "--mode", ""}), (Words{"auto", "generic", "native"}));
}

TEST(BashCompletion, DevicesFromSysClassNet) {
  std::vector<std::string> devices;
  for (const auto& entry : fs::directory_iterator("/sys/class/net")) devices.push_back(entry.path().filename());
  std::sort(devices.begin(), devices.end());
  ASSERT_FALSE(devices.empty());
  EXPECT_EQ(complete({"xdp", "attach", ""}), devices);
  EXPECT_EQ(complete({"xdp", "stats", "--json", ""}), devices);
  EXPECT_EQ(complete({"-f", "script", "--hook", "tc", "--dev", ""}), devices);
  // The device is given: signatures follow, nothing to offer.
  EXPECT_EQ(complete({"xdp", "attach", "lo", ""}), (Words{}));
  EXPECT_EQ(complete({"xdp", "attach", "--mode", "native", ""}), devices);
}

// A label offered, typed back as the shell reads it, selects that label
// and no other.
void expect_selects_one(const std::string& reply, const std::vector<std::string>& database_args) {
  std::string command = shell_quote(P0FBPF_BINARY);
  for (const auto& a : database_args) command += " " + shell_quote(a);
  int status = 0;
  std::string out = run_shell(command + " --list --label " + reply + " 2>&1", &status);
  EXPECT_EQ(status, 0) << reply << "\n" << out;
  // A line per section the label has signatures in: "  N [tcp:...] LABEL".
  std::set<std::string> labels;
  for (const std::string& line : lines_of(out)) labels.insert(line.substr(line.find_first_not_of(' ', line.find(']') + 1)));
  EXPECT_EQ(labels.size(), 1u) << reply << "\n" << out;
}

TEST(BashCompletion, LabelsOfTheDefaultDatabase) {
  Words zmap = complete({"--label", "^s:!:z"});
  ASSERT_EQ(zmap.size(), 1u);
  expect_selects_one(zmap[0], {});
  EXPECT_NE(run_shell(shell_quote(P0FBPF_BINARY) + " --list --label " + zmap[0]).find("s:!:zmap:SYN scan"),
            std::string::npos);
  // Every label once, though most are in both sections; each selects itself.
  Words all = complete({"test", "--label", ""});
  EXPECT_EQ(all.size(), std::set<std::string>(all.begin(), all.end()).size());
  EXPECT_GT(all.size(), 10u);
  for (const std::string& reply : all) {
    if (reply.find("ECN") == std::string::npos) continue;
    // "Linux:6.x (ECN)": escaped parentheses and dot, not a regex group.
    expect_selects_one(reply, {});
  }
}

TEST(BashCompletion, LabelsOfTheDatabaseGivenWithDashF) {
  const std::string examples = std::string(P0FBPF_TEST_DATA) + "/../signatures/examples.fp";
  Words nmap = complete({"-F", examples, "--label", "^s:unix:NM"});
  ASSERT_EQ(nmap.size(), 1u) << ::testing::PrintToString(nmap);
  expect_selects_one(nmap[0], {"-F", examples});
}

// Labels come from a file: offered quoted, they run nothing when the shell
// reads them back, and carry no control character to the terminal.
TEST(BashCompletion, HostileLabelsAreQuotedAndPrintable) {
  const std::string marker = ::testing::TempDir() + "p0fbpf_completion_owned_" + std::to_string(getpid());
  const std::string database = temp_file("completion_", "hostile.fp");
  std::ofstream(database, std::ios::binary)
      << "[tcp:request]\nlabel = s:unix:$(touch " << marker << "):`touch " << marker << "` 'q' \"d\" ;x\n"
      << "sig = 4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0\n"
      << "label = s:unix:esc:\x1b]0;title\x07\x1b[2J\n"
      << "sig = 4:64:0:*:mss*20,6:mss,sok,ts,nop,ws:df,id+:0\n";
  Words replies = complete({"-F", database, "--label", ""});
  ASSERT_EQ(replies.size(), 2u) << ::testing::PrintToString(replies);
  for (const std::string& reply : replies) {
    for (char c : reply) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << reply;
    // As a user's shell would read it: one word, nothing run.
    std::string words = run_shell("bash -c " + shell_quote("set -- " + reply + "; echo $#"));
    EXPECT_EQ(words, "1\n") << reply;
  }
  // The label of shell syntax is selected by its reply (the other's control
  // characters reach --list as '?', which no pattern can give back).
  auto shell = std::find_if(replies.begin(), replies.end(),
                            [](const std::string& r) { return r.find("touch") != std::string::npos; });
  ASSERT_NE(shell, replies.end());
  expect_selects_one(*shell, {"-F", database});
  EXPECT_FALSE(fs::exists(marker));
}

// The options the script offers for each command are those of its --help.
TEST(BashCompletion, OptionListsAreTheHelpsOptions) {
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"", "compile"},          {"test", "test"},         {"fingerprint", "fingerprint"},
      {"suggest", "suggest"},   {"convert", "convert"},   {"pin", "pin"},           {"xdp", "xdp"},
      {"xdp attach", "xdp_attach"}, {"xdp stats", "xdp_stats"}, {"xdp detach", "xdp_detach"},
      {"xdp list", "xdp_list"},     {"xdp prune", "xdp_prune"}};
  for (const auto& [command, variable] : commands) {
    std::string help = run_shell(shell_quote(P0FBPF_BINARY) + " " + command + " --help");
    auto begin = help.find("\nOptions:\n");
    ASSERT_NE(begin, std::string::npos) << command;
    std::string options = help.substr(begin, help.find("\n\n", begin + 1) - begin);
    std::set<std::string> from_help;
    for (const auto& option : testing::each_match(options, "\\n  (-[A-Za-z0-9])?,?(--[a-z0-9-]+)?")) {
      for (const std::string& name : option) {
        if (!name.empty()) from_help.insert(name);
      }
    }
    std::string listed = run_shell("bash -c " + shell_quote("source " + shell_quote(kBash) +
                                                            " && echo $_p0fbpf_options_" + variable));
    std::istringstream words(listed);
    std::set<std::string> from_script{std::istream_iterator<std::string>(words), {}};
    EXPECT_EQ(from_script, from_help) << "p0fbpf " << command;
  }
}

TEST(BashCompletion, ShellcheckIsClean) {
  int status = 0;
  run_shell("command -v shellcheck", &status);
  P0FBPF_REQUIRE(status == 0, "shellcheck missing (apt-get install shellcheck)");
  std::string out = run_shell("shellcheck -s bash " + shell_quote(kBash), &status);
  EXPECT_EQ(status, 0) << out;
}

TEST(ZshCompletion, Parses) {
  int status = 0;
  run_shell("command -v zsh", &status);
  P0FBPF_REQUIRE(status == 0, "zsh missing (apt-get install zsh)");
  std::string out = run_shell("zsh -n " + shell_quote(kZsh), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "");
  // The first line tells compinit which command it completes.
  EXPECT_EQ(lines_of(run_shell("head -1 " + shell_quote(kZsh)))[0], "#compdef p0fbpf");
}

// The labels the zsh script offers (compadd stubbed to print them, as
// _call_program would run the command): escaped, anchored, each once.
TEST(ZshCompletion, LabelsOfTheDatabase) {
  int status = 0;
  run_shell("command -v zsh", &status);
  P0FBPF_REQUIRE(status == 0, "zsh missing (apt-get install zsh)");
  std::string script = "_arguments() { :; }; _describe() { :; }; _call_program() { shift; eval \"$@\"; }; "
                       "compadd() { print -rl -- \"$@\"; }; source " + shell_quote(kZsh) +
                       "; setopt extendedglob; words=(" + shell_quote(P0FBPF_BINARY) +
                       " --label ''); CURRENT=3; _p0fbpf_labels";
  Words labels = lines_of(run_shell("zsh -f -c " + shell_quote(script)));
  ASSERT_FALSE(labels.empty());
  EXPECT_EQ(labels[0], "--");
  labels.erase(labels.begin());
  EXPECT_EQ(labels.size(), std::set<std::string>(labels.begin(), labels.end()).size());
  EXPECT_NE(std::find(labels.begin(), labels.end(), "^s:!:zmap:SYN scan$"), labels.end());
  EXPECT_NE(std::find(labels.begin(), labels.end(), "^s:unix:Linux:6\\.x \\(ECN\\)$"), labels.end());
  for (const std::string& label : labels) expect_selects_one(shell_quote(label), {});
}

}  // namespace
}  // namespace p0fbpf::testing
