// Firewall scripts: what they say, shellcheck's opinion, and what they do
// to iptables in a network namespace of their own.
#include "p0fbpf/script.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "test_env.hpp"

namespace p0fbpf {
namespace {

using testing::run_shell;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

const std::vector<FirewallRule> kRules = {
    {4, Direction::Request, "1,6 0 0 262144", "s:unix:Linux:3.11 and newer"},
    {6, Direction::Request, "1,6 0 0 262144", "it's IPv6"},
};

TEST(Script, RulesPerFamilyWithOptions) {
  ScriptOptions o;
  o.chain = "FORWARD";
  o.target = "REJECT";
  o.destinations = {"192.0.2.0/24", "2001:db8::1", "198.51.100.7"};
  ASSERT_FALSE(check_script_options(o).has_value());
  std::string s = firewall_script(kRules, o);
  EXPECT_EQ(s.rfind("#!/usr/bin/env bash\n", 0), 0u);
  EXPECT_NE(s.find("set -euo pipefail"), std::string::npos);
  EXPECT_EQ(count(s, "\nrule iptables FORWARD -p tcp --syn -d "), 2u);
  EXPECT_EQ(count(s, "\nrule ip6tables FORWARD -p tcp --syn -d 2001:db8::1 "), 1u);
  EXPECT_NE(s.find("-m bpf --bytecode '1,6 0 0 262144' -m comment --comment 'p0fbpf: it'\\''s IPv6' -j REJECT"),
            std::string::npos);
}

TEST(Script, ResponsesAndIpsets) {
  ScriptOptions o;
  o.ipset = "servers";
  std::vector<FirewallRule> rules = {{4, Direction::Response, "1,6 0 0 0", "x"}};
  std::string s = firewall_script(rules, o);
  EXPECT_NE(s.find("rule iptables INPUT -p tcp --tcp-flags SYN,ACK,FIN,RST SYN,ACK -m set --match-set servers dst"),
            std::string::npos);
}

TEST(Script, RefusesUnsafeOptions) {
  ScriptOptions o;
  o.chain = "INPUT; rm -rf /";
  EXPECT_TRUE(check_script_options(o).has_value());
  o = {};
  o.destinations = {"10.0.0.300"};
  EXPECT_TRUE(check_script_options(o).has_value());
  o.destinations = {"10.0.0.1/33"};
  EXPECT_TRUE(check_script_options(o).has_value());
  o = {};
  o.ipset = "a";
  o.destinations = {"10.0.0.1"};
  EXPECT_TRUE(check_script_options(o).has_value());
}

std::string write_script(const std::string& arguments) {
  std::string path = ::testing::TempDir() + "p0fbpf_rule_" + std::to_string(getpid()) + ".sh";
  int status = 0;
  std::string out = run_shell(std::string(P0FBPF_BINARY) + " " + arguments + " > " + path, &status);
  EXPECT_EQ(status, 0) << out;
  return path;
}

TEST(Script, ShellcheckFindsNothing) {
  int status = 0;
  run_shell("command -v shellcheck", &status);
  P0FBPF_REQUIRE(status == 0, "shellcheck is not installed (apt-get install shellcheck)");
  std::string path = write_script("-f script -d 192.0.2.1 -d 2001:db8::/64 "
                                  "'*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'");
  std::string out = run_shell("shellcheck " + path, &status);
  EXPECT_EQ(status, 0) << out;
  std::remove(path.c_str());
}

// The issue's own words: the label's rules go in, and come out again.
TEST(Script, InstallsOnceAndDeletesExactlyItsRules) {
  P0FBPF_REQUIRE(geteuid() == 0, "needs root for iptables in a network namespace");
  int status = 0;
  run_shell("command -v ip && command -v iptables && command -v ip6tables", &status);
  P0FBPF_REQUIRE(status == 0, "ip, iptables or ip6tables missing");
  P0FBPF_REQUIRE(std::ifstream("/etc/p0f/p0f.fp").good(), "/etc/p0f/p0f.fp missing (apt-get install p0f)");
  std::string path = write_script("--label 'Linux:3.11 and newer' -f script");
  std::string ns = "p0fbpf-script-" + std::to_string(getpid());
  run_shell("ip netns add " + ns, &status);
  ASSERT_EQ(status, 0);
  std::string in = "ip netns exec " + ns + " ";
  // A rule of the user's own, which --delete must leave alone.
  run_shell(in + "iptables -A INPUT -p tcp --dport 22 -j ACCEPT", &status);

  std::string out = run_shell(in + "bash " + path, &status);
  EXPECT_EQ(status, 0) << out;
  std::string v4 = run_shell(in + "iptables -S INPUT");
  std::string v6 = run_shell(in + "ip6tables -S INPUT");
  std::size_t rules4 = count(v4, "-m bpf --bytecode");
  std::size_t rules6 = count(v6, "-m bpf --bytecode");
  EXPECT_GE(rules4, 1u) << v4;
  EXPECT_GE(rules6, 1u) << v6;
  EXPECT_NE(v4.find("--comment \"p0fbpf: s:unix:Linux:3.11 and newer\" -j DROP"), std::string::npos) << v4;
  EXPECT_NE(v4.find("--tcp-flags FIN,SYN,RST,ACK SYN"), std::string::npos) << v4;

  out = run_shell(in + "bash " + path, &status);  // again: nothing changes
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(run_shell(in + "iptables -S INPUT"), v4);
  EXPECT_EQ(run_shell(in + "ip6tables -S INPUT"), v6);

  out = run_shell(in + "bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  std::string after4 = run_shell(in + "iptables -S INPUT");
  EXPECT_EQ(count(after4, "-m bpf"), 0u) << after4;
  EXPECT_EQ(count(run_shell(in + "ip6tables -S INPUT"), "-m bpf"), 0u);
  EXPECT_NE(after4.find("--dport 22 -j ACCEPT"), std::string::npos) << after4;
  EXPECT_EQ(run_shell(in + "bash " + path + " --frobnicate", &status).find("usage:") != std::string::npos, true);
  EXPECT_EQ(status, 2);

  run_shell("ip netns del " + ns);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace p0fbpf
