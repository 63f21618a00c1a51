// Firewall scripts: what they say, shellcheck's opinion, and what they do
// to iptables in a network namespace of their own.
#include "p0fbpf/script.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>

#include "bpffs.hpp"
#include "netns.hpp"
#include "p0f_database.hpp"
#include "p0f_oracle.hpp"
#include "p0fbpf/parser.hpp"
#include "script_tools.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "test_seed.hpp"

namespace p0fbpf {
namespace {

using testing::Bpffs;
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
  FirewallScript script = firewall_script(kRules, o);
  EXPECT_EQ(script.rules, 3u);
  const std::string& s = script.text;
  EXPECT_EQ(s.rfind("#!/usr/bin/env bash\n", 0), 0u);
  EXPECT_NE(s.find("set -euo pipefail"), std::string::npos);
  EXPECT_NE(s.find("\nchain='FORWARD'\n"), std::string::npos);
  EXPECT_EQ(count(s, "\n  \"$1\" iptables -p tcp --syn -d "), 2u);
  EXPECT_EQ(count(s, "\n  \"$1\" ip6tables -p tcp --syn -d 2001:db8::1 "), 1u);
  // The quote is not safe in a comment that iptables -S prints in double quotes.
  EXPECT_NE(s.find("-m bpf --bytecode '1,6 0 0 262144' -m comment --comment 'p0fbpf: it_s IPv6' -m comment --comment "
                   "p0fbpf-rule-"),
            std::string::npos);
  EXPECT_EQ(count(s, " -j REJECT\n"), 3u);
  EXPECT_NE(s.find("Installs 3 firewall rule(s), 2 with iptables and 1 with\n# ip6tables"), std::string::npos);
}

// The markers by which a script finds its rules (p0fbpf-rule- and 16 hex
// digits, last before the target): one per rule, the same each time the
// script is written, another in another chain.
std::vector<std::string> markers(const std::string& script) {
  std::vector<std::string> out;
  for (std::size_t at = script.find("--comment p0fbpf-rule-"); at != std::string::npos;
       at = script.find("--comment p0fbpf-rule-", at + 1)) {
    out.push_back(script.substr(at + 10, script.find_first_of(" \n", at + 10) - at - 10));
  }
  return out;
}

TEST(Script, EveryRuleHasAMarkerOfItsOwn) {
  ScriptOptions o;
  o.destinations = {"192.0.2.0/24", "2001:db8::1", "198.51.100.7"};
  std::string s = firewall_script(kRules, o).text;
  std::vector<std::string> found = markers(s);
  ASSERT_EQ(found.size(), 3u) << s;
  for (const std::string& marker : found) {
    EXPECT_EQ(marker.size(), 12u + 16u) << marker;
    EXPECT_EQ(marker.find_first_not_of("0123456789abcdef", 12), std::string::npos) << marker;
    EXPECT_NE(s.find(marker + " -j DROP\n"), std::string::npos) << marker;
  }
  EXPECT_EQ(std::set<std::string>(found.begin(), found.end()).size(), 3u);
  EXPECT_EQ(markers(firewall_script(kRules, o).text), found);
  o.chain = "FORWARD";
  std::vector<std::string> other = markers(firewall_script(kRules, o).text);
  ASSERT_EQ(other.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_NE(other[i], found[i]);
}

TEST(Script, ResponsesAndASetPerFamily) {
  ScriptOptions o;
  o.ipset = "servers4,servers6";
  ASSERT_FALSE(check_script_options(o).has_value());
  std::vector<FirewallRule> rules = {{4, Direction::Response, "1,6 0 0 0", "x"}, {6, Direction::Response, "1,6 0 0 0", "x"}};
  std::string s = firewall_script(rules, o).text;
  EXPECT_NE(s.find("iptables -p tcp --tcp-flags SYN,ACK,FIN,RST SYN,ACK -m set --match-set servers4 dst"),
            std::string::npos);
  EXPECT_NE(s.find("ip6tables -p tcp --tcp-flags SYN,ACK,FIN,RST SYN,ACK -m set --match-set servers6 dst"),
            std::string::npos);
}

TEST(Script, ASetOfOneFamilyKeepsThatFamilysRules) {
  ScriptOptions o;
  o.ipset = "inet6:servers";
  FirewallScript script = firewall_script(kRules, o);
  EXPECT_EQ(script.rules, 1u);
  EXPECT_EQ(count(script.text, "ip6tables -p tcp --syn -m set --match-set servers dst"), 1u);
  EXPECT_EQ(count(script.text, "\"$1\" iptables "), 0u);
  // A bare name is enough when all rules are of one family.
  o.ipset = "servers";
  script = firewall_script({kRules[0]}, o);
  EXPECT_FALSE(script.error.has_value());
  EXPECT_EQ(count(script.text, "iptables -p tcp --syn -m set --match-set servers dst"), 1u);
  // ... and ambiguous when they are of both.
  script = firewall_script(kRules, o);
  ASSERT_TRUE(script.error.has_value());
  EXPECT_NE(script.error->find("--ipset V4SET,V6SET"), std::string::npos) << *script.error;
}

TEST(Script, CountOnlyRulesHaveNoTarget) {
  ScriptOptions o;
  o.count_only = true;
  std::string s = firewall_script(kRules, o).text;
  EXPECT_EQ(count(s, "-m comment --comment 'p0fbpf: s:unix:Linux:3.11 and newer' -m comment --comment p0fbpf-rule-"), 1u)
      << s;
  EXPECT_EQ(count(s, " -j "), 0u);
  EXPECT_NE(s.find("that count what these p0f signatures match"), std::string::npos);
}

TEST(Script, RateMatchesOnlyBeyondItInOneBudgetPerFamily) {
  ScriptOptions o;
  o.rate_per_second = 250;
  std::string s = firewall_script(kRules, o).text;
  // The same hashlimit table (name and rate) in every rule of the script.
  EXPECT_EQ(count(s, " -m hashlimit --hashlimit-above 250/sec --hashlimit-burst 250 --hashlimit-name p0fbpf250 -m comment "
                     "--comment p0fbpf-rule-"),
            2u)
      << s;
  EXPECT_NE(s.find("DROP what these p0f signatures match beyond 250 a second"), std::string::npos) << s;
  for (const char* rate : {"1/s", "250/sec", "1000000/second"}) EXPECT_TRUE(parse_rate(rate).has_value()) << rate;
  EXPECT_EQ(parse_rate("250/s"), 250u);
  for (const char* bad : {"0/s", "5", "5/m", "/s", "-5/s", "5/s ", "1000001/s", "99999999999/s", "5/S", "x/s"}) {
    EXPECT_FALSE(parse_rate(bad).has_value()) << bad;
  }
}

TEST(Script, DestinationsOfTheOtherFamilyLeaveNothing) {
  ScriptOptions o;
  o.destinations = {"2001:db8::1"};
  EXPECT_EQ(firewall_script({kRules[0]}, o).rules, 0u);
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
  // Names iptables would read as options.
  for (const char* name : {"-F", "--flush", "-j"}) {
    o = {};
    o.chain = name;
    EXPECT_TRUE(check_script_options(o).has_value()) << name;
    o = {};
    o.target = name;
    EXPECT_TRUE(check_script_options(o).has_value()) << name;
    o = {};
    o.ipset = name;
    EXPECT_TRUE(check_script_options(o).has_value()) << name;
    o.ipset = std::string("inet:") + name;
    EXPECT_TRUE(check_script_options(o).has_value()) << name;
  }
  o = {};
  o.ipset = "a,b,c";
  EXPECT_TRUE(check_script_options(o).has_value());
}

TEST(Script, CommentsKeepToCharactersSafeInDoubleQuotes) {
  bool changed = false;
  EXPECT_EQ(comment_text("s:!:NMap:SYN scan (1.x); *:64:0:*:*,*:::0", &changed),
            "s:!:NMap:SYN scan (1.x); *:64:0:*:*,*:::0");
  EXPECT_FALSE(changed);
  EXPECT_EQ(comment_text("$(reboot) `id` \"x\" \\n it's \x1b[2J", &changed), "_(reboot) _id_ _x_ _n it_s _[2J");
  EXPECT_TRUE(changed);
  std::string long_label(1000, 'a');
  std::string cut = comment_text(long_label);
  EXPECT_EQ(cut.size(), 255u);
  EXPECT_EQ(cut.substr(252), "...");
}

const PinnedProgram kPinned = {"/sys/fs/bpf", "p0fbpf_0123456789ab", "/usr/bin/p0fbpf", {"--loose"},
                               {"4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", "*:128:0:*:8192,0:mss:df,id+:0"}};

TEST(Script, PinnedRulesRunTheOneProgram) {
  ScriptOptions o;
  o.pinned = kPinned;
  ASSERT_FALSE(check_script_options(o).has_value());
  std::vector<FirewallRule> rules = {{4, Direction::Request, "", "x"}, {6, Direction::Request, "", "x"}};
  FirewallScript script = firewall_script(rules, o);
  EXPECT_EQ(script.rules, 2u);
  const std::string& s = script.text;
  EXPECT_EQ(count(s, "\n  \"$1\" iptables -p tcp --syn -m bpf --object-pinned \"$pin\" -m comment --comment 'p0fbpf: x' "
                     "-m comment --comment p0fbpf-rule-"),
            1u)
      << s;
  EXPECT_EQ(count(s, "\n  \"$1\" ip6tables -p tcp --syn -m bpf --object-pinned \"$pin\" -m comment"), 1u) << s;
  EXPECT_EQ(count(s, "--bytecode '"), 0u);
  EXPECT_NE(s.find("\npin_dir='/sys/fs/bpf'\npin=$pin_dir/p0fbpf_0123456789ab\np0fbpf=${P0FBPF:-'/usr/bin/p0fbpf'}\n"),
            std::string::npos)
      << s;
  // The signatures after --, so that none is read as an option.
  EXPECT_NE(s.find("\npin_arguments=(\n  --loose\n  --\n  '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'\n"
                   "  '*:128:0:*:8192,0:mss:df,id+:0'\n)\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("pinned at /sys/fs/bpf/p0fbpf_0123456789ab"), std::string::npos);
  // Pinned before the rules change, removed after.
  std::size_t main_body = s.find("\nmain() {");
  ASSERT_NE(main_body, std::string::npos);
  EXPECT_LT(s.find("\n  pin_program\n", main_body), s.find("\n  change change_rules_and_pin\n", main_body));
  std::size_t both = s.find("\nchange_rules_and_pin() {");
  ASSERT_NE(both, std::string::npos);
  EXPECT_LT(s.find("\n  change_rules\n", both), s.find("rm -f \"$pin\" ||", both));
}

TEST(Script, PinnedProgramGoesInOneRulePerVersion) {
  ScriptOptions o;
  o.pinned = kPinned;
  std::vector<FirewallRule> rules = {{4, Direction::Request, "", "x"}, {4, Direction::Request, "", "y"}};
  FirewallScript script = firewall_script(rules, o);
  ASSERT_TRUE(script.error.has_value());
  EXPECT_NE(script.error->find("one rule per IP version"), std::string::npos) << *script.error;
  // Without the pin, two rules of a version are what --bytecode needs.
  o.pinned.reset();
  rules[0].bytecode = rules[1].bytecode = "1,6 0 0 0";
  EXPECT_FALSE(firewall_script(rules, o).error.has_value());
}

TEST(Script, PinNamesAreShortAndSayWhichProgram) {
  std::set<std::string> names;
  for (int i = 0; i < 200; ++i) {
    std::string name = pin_name("6,40 0 0 12,21 0 3 " + std::to_string(i) + ",6 0 0 262144,6 0 0 0");
    EXPECT_EQ(name.rfind("p0fbpf_", 0), 0u) << name;
    EXPECT_EQ(name.find('.'), std::string::npos) << name;  // bpffs refuses it
    EXPECT_LE(name.size(), 24u) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 200u);
  EXPECT_EQ(pin_name("1,6 0 0 0"), pin_name(std::string("1,6 0 0 0")));
}

TEST(Script, PinnedRefusesWhatItCannotPutInAScript) {
  ScriptOptions o;
  o.pinned = kPinned;
  for (const char* directory : {"sys/fs/bpf", "/", "/sys/fs/bpf/", "/tmp/a b", "/tmp/$(reboot)", "/tmp/a'b", ""}) {
    o.pinned->directory = directory;
    EXPECT_TRUE(check_script_options(o).has_value()) << directory;
  }
  o.pinned->directory = "/" + std::string(kXtBpfMaxPath, 'a');
  EXPECT_TRUE(check_script_options(o).has_value());
  o.pinned = kPinned;
  o.pinned->signatures.push_back("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0\n");
  EXPECT_TRUE(check_script_options(o).has_value());
  // One rule per IP version.
  o.pinned = kPinned;
  o.destinations = {"192.0.2.1", "2001:db8::1"};
  EXPECT_FALSE(check_script_options(o).has_value());
  o.destinations = {"192.0.2.1", "198.51.100.0/24"};
  std::optional<std::string> problem = check_script_options(o);
  ASSERT_TRUE(problem.has_value());
  EXPECT_NE(problem->find("--ipset"), std::string::npos) << *problem;
}

// --pinned goes with -f script and iptables rules only; refused with exit 2
// and nothing on standard output.
TEST(Script, PinnedGoesWithIptablesScriptsOnly) {
  const std::string sig = " '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'";
  for (const char* arguments : {"--pinned /sys/fs/bpf", "-f asm --pinned /sys/fs/bpf", "-f xdp --pinned /sys/fs/bpf",
                                "-f script --hook tc --dev lo --pinned /sys/fs/bpf",
                                "-f script --split --pinned /sys/fs/bpf", "-f script --max-insns 64 --pinned /sys/fs/bpf",
                                "-f script --pinned relative/dir", "-f script --negate --pinned /sys/fs/bpf",
                                "-f script -d 192.0.2.1 -d 192.0.2.2 --pinned /sys/fs/bpf"}) {
    int status = 0;
    std::string out = run_shell("(" + std::string(P0FBPF_BINARY) + " " + arguments + sig + " 2>/dev/null)", &status);
    EXPECT_EQ(status, 2) << arguments;
    EXPECT_EQ(out, "") << arguments;
  }
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
  path = write_script("-f script --pinned /sys/fs/bpf --response --loose -F /etc/p0f/p0f.fp --label Linux");
  out = run_shell("shellcheck " + path, &status);
  EXPECT_EQ(status, 0) << out;
  std::remove(path.c_str());
}

// A network namespace of the test's own, with iptables and ip6tables of one
// backend (iptables-legacy or iptables-nft): every command runs with
// wrappers for that backend's tools first in PATH (see script_tools.hpp).
class Namespace {
 public:
  explicit Namespace(const std::string& backend) : tools_(backend) {
    int status = 0;
    run_shell("command -v ip && command -v iptables-" + backend + " && command -v ip6tables-" + backend, &status);
    usable_ = geteuid() == 0 && status == 0 && tools_.ok();
    if (!usable_) return;
    run_shell("ip netns add " + name_, &status);
    usable_ = status == 0;
  }
  ~Namespace() {
    if (usable_) run_shell("ip netns del " + name_);
  }
  bool usable() const { return usable_; }
  const std::string& name() const { return name_; }
  const testing::ScriptTools& tools() const { return tools_; }
  // "ip netns exec NAME " (what runs a command in it, without the tools).
  std::string in() const { return "ip netns exec " + name_ + " "; }
  std::string run(const std::string& command, int* status = nullptr) const {
    return run_shell(in() + tools_.env() + command, status);
  }
  // Both families' rules, as iptables -S prints them.
  std::string rules() const { return run("iptables -S") + run("ip6tables -S"); }

 private:
  testing::ScriptTools tools_;
  std::string name_ = "p0fbpf-script-" + std::to_string(getpid());
  bool usable_ = false;
};

// The kernel tests run under each backend of iptables.
class ScriptKernel : public ::testing::TestWithParam<std::string> {};
INSTANTIATE_TEST_SUITE_P(Backends, ScriptKernel, ::testing::Values("legacy", "nft"),
                         [](const ::testing::TestParamInfo<std::string>& backend) { return backend.param; });

#define REQUIRE_NAMESPACE(ns)                                                                               \
  P0FBPF_REQUIRE((ns).usable(), "needs root, ip, iptables-" + GetParam() + " and ip6tables-" + GetParam() + \
                                    " for a network namespace")

// The issue's own words: the label's rules go in, and come out again.
TEST_P(ScriptKernel, InstallsOnceAndDeletesExactlyItsRules) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  P0FBPF_REQUIRE(std::ifstream("/etc/p0f/p0f.fp").good(), "/etc/p0f/p0f.fp missing (apt-get install p0f)");
  int status = 0;
  std::string path = write_script("-F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer' -f script");
  // A rule of the user's own, which --delete must leave alone.
  ns.run("iptables -A INPUT -p tcp --dport 22 -j ACCEPT", &status);

  std::string out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 0) << out;
  std::string v4 = ns.run("iptables -S INPUT");
  std::string v6 = ns.run("ip6tables -S INPUT");
  std::size_t rules4 = count(v4, "-m bpf --bytecode");
  std::size_t rules6 = count(v6, "-m bpf --bytecode");
  EXPECT_GE(rules4, 1u) << v4;
  EXPECT_GE(rules6, 1u) << v6;
  EXPECT_NE(v4.find("--comment \"p0fbpf: s:unix:Linux:3.11 and newer\" -m comment --comment p0fbpf-rule-"),
            std::string::npos)
      << v4;
  EXPECT_EQ(count(v4, " -j DROP\n"), rules4) << v4;
  EXPECT_NE(v4.find("--tcp-flags FIN,SYN,RST,ACK SYN"), std::string::npos) << v4;

  out = ns.run("bash " + path, &status);  // again: nothing changes
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(ns.run("iptables -S INPUT"), v4);
  EXPECT_EQ(ns.run("ip6tables -S INPUT"), v6);

  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  std::string after4 = ns.run("iptables -S INPUT");
  EXPECT_EQ(count(after4, "-m bpf"), 0u) << after4;
  EXPECT_EQ(count(ns.run("ip6tables -S INPUT"), "-m bpf"), 0u);
  EXPECT_NE(after4.find("--dport 22 -j ACCEPT"), std::string::npos) << after4;
  EXPECT_EQ(ns.run("bash " + path + " --frobnicate", &status).find("usage:") != std::string::npos, true);
  EXPECT_EQ(status, 2);

  std::remove(path.c_str());
}

// --rate 5/s: of 50 matching SYNs sent at once, the first 5 (the burst) go
// on through the chain and the rest are dropped; installing again changes
// nothing and --delete removes the rule.
TEST_P(ScriptKernel, RateDropsOnlyWhatExceedsIt) {
  P0FBPF_REQUIRE(geteuid() == 0, "needs root for network namespaces and iptables");
  int status = 0;
  testing::ScriptTools tools(GetParam());
  P0FBPF_REQUIRE(tools.ok(), "missing:" + tools.missing());
  testing::Namespaces ns;
  // The SYNs go to 192.0.2.1 (see assign_flow), local in b; answers go back out vb.
  ns.run("ip -n " + ns.b() + " addr add 192.0.2.1/24 dev vb");
  ns.run("ip -n " + ns.b() + " route add default dev vb");
  const std::string sig = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  std::string path = write_script("-f script --rate 5/s '" + sig + "'");
  std::string in_b = "ip netns exec " + ns.b() + " " + tools.env();
  std::string out = run_shell(in_b + "bash " + path, &status);
  ASSERT_EQ(status, 0) << out;
  std::string rules = run_shell(in_b + "iptables -S INPUT");
  EXPECT_EQ(count(rules, "-m hashlimit --hashlimit-above 5/sec --hashlimit-burst 5 --hashlimit-name p0fbpf5 -m comment "
                         "--comment p0fbpf-rule-"),
            1u)
      << rules;
  out = run_shell(in_b + "bash " + path, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(run_shell(in_b + "iptables -S INPUT"), rules);

  testing::Random rng(7);
  Signature parsed = *parse_signature(sig);
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::size_t i = 0; i < 50; ++i) {
    testing::PacketSpec p = testing::matching_packet(parsed, false, false, rng);
    testing::assign_flow(p, i, false);
    frames.push_back(testing::frame_to(p, ns.mac_b()));
  }
  EXPECT_EQ(testing::in_namespace(ns.a(), [&] { return testing::inject(frames); }), "50");
  usleep(300000);
  std::vector<long> dropped = testing::bpf_rule_counters(ns.b(), tools.env() + "iptables", "filter", "INPUT");
  ASSERT_EQ(dropped.size(), 1u);
  // The burst passes; a token or two may come back while the frames arrive.
  EXPECT_LE(dropped[0], 45) << "dropped";
  EXPECT_GE(dropped[0], 42);

  out = run_shell(in_b + "bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(count(run_shell(in_b + "iptables -S INPUT"), "-m bpf"), 0u);
  std::remove(path.c_str());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A script cut short anywhere (a full disk, a copy interrupted) changes
// nothing, whether it was to install or to delete; cut after the trap line,
// it fails. `state` is what must not change (the rules, and pins); whole,
// the script installs `rules` rules that hold `rule_text`.
void expect_cut_copies_change_nothing(const Namespace& ns, const std::string& path,
                                      const std::function<std::string()>& state, const std::string& rule_text,
                                      std::size_t rules) {
  std::string script = read_file(path);
  ASSERT_GT(script.size(), 1000u);
  std::size_t last_line = script.rfind('\n', script.size() - 2) + 1;
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < 16; ++i) cuts.push_back(script.size() * i / 16);
  for (std::size_t at = last_line; at < script.size() - 1; at += 3) cuts.push_back(at);
  std::string cut_path = path + ".cut";
  const std::string empty = state();
  // Within the lines before the trap is set, nothing runs: a copy of the
  // comments alone exits 0, one cut in the trap line is a syntax error.
  std::size_t trap_line = script.rfind('\n', script.find("; trap incomplete EXIT")) + 1;
  std::size_t after_trap = script.find('\n', trap_line) + 1;
  ASSERT_GT(trap_line, 0u);
  for (std::size_t cut = 0; cut < after_trap; cut += cut < trap_line ? 7 : 5) {
    std::ofstream(cut_path, std::ios::binary) << script.substr(0, cut);
    int status = 0;
    std::string out = ns.run("bash " + cut_path, &status);
    if (cut <= trap_line) {
      EXPECT_EQ(status, 0) << "cut at " << cut << ": " << out;
    }
    EXPECT_EQ(state(), empty) << "cut at " << cut;
  }
  for (std::size_t cut : cuts) {
    std::ofstream(cut_path, std::ios::binary) << script.substr(0, cut);
    int status = 0;
    std::string out = ns.run("bash " + cut_path, &status);
    EXPECT_NE(status, 0) << "cut at " << cut << " of " << script.size() << ": " << out;
    EXPECT_EQ(state(), empty) << "cut at " << cut;
  }
  // Installed whole, then a cut copy of it asked to --delete deletes nothing.
  int status = 0;
  ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0);
  const std::string installed = state();
  EXPECT_EQ(count(installed, rule_text), rules) << installed;
  for (std::size_t cut : cuts) {
    std::ofstream(cut_path, std::ios::binary) << script.substr(0, cut);
    ns.run("bash " + cut_path + " --delete", &status);
    EXPECT_NE(status, 0);
    EXPECT_EQ(state(), installed) << "cut at " << cut;
  }
  std::remove(cut_path.c_str());
}

TEST_P(ScriptKernel, TruncatedScriptChangesNothing) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  std::string path = write_script("-f script '*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0' '4:128:0:*:8192,0:mss:df,id+:0'");
  expect_cut_copies_change_nothing(ns, path, [&] { return ns.rules(); }, "-m bpf --bytecode", 3);
  std::remove(path.c_str());
}

TEST_P(ScriptKernel, ChainMissingInOneFamilyInstallsNothing) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  ns.run("iptables -N P0FBPF_ONLY4");
  const std::string before = ns.rules();
  std::string path = write_script("-f script --chain P0FBPF_ONLY4 -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
  int status = 0;
  std::string out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("ip6tables has no chain P0FBPF_ONLY4"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), before);
  std::remove(path.c_str());
}

// What the checks cannot foresee: ip6tables refuses its part, and the
// iptables part already installed is taken out again.
TEST_P(ScriptKernel, RefusedSecondFamilyIsRolledBack) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  ns.run("iptables -N P0FBPF_TARGET4");  // a target chain that ip6tables lacks
  const std::string before = ns.rules();
  std::string path = write_script("-f script --target P0FBPF_TARGET4 -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
  int status = 0;
  std::string out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("the iptables part was undone"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), before);
  std::remove(path.c_str());
}

// A --delete that ip6tables-restore refuses puts the iptables rules back,
// each at its place among the user's rules.
TEST_P(ScriptKernel, RefusedSecondFamilyDeleteIsRolledBack) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  std::string path = write_script("-f script '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0' '*:128:0:*:8192,0:mss:df,id+:0'");
  int status = 0;
  ns.run("iptables -A INPUT -p tcp --dport 22 -j ACCEPT");
  ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0);
  ns.run("iptables -A INPUT -p tcp --dport 23 -j ACCEPT");
  ns.run("iptables -I INPUT 2 -p tcp --dport 24 -j ACCEPT");  // between the script's two IPv4 rules
  const std::string installed = ns.rules();
  ASSERT_EQ(count(installed, "-m bpf"), 3u) << installed;
  // An ip6tables-restore that refuses everything.
  const std::string restore = ns.tools().dir() + "/ip6tables-restore";
  const std::string wrapper = read_file(restore);
  std::ofstream(restore, std::ios::trunc) << "#!/bin/sh\ncat >/dev/null\nexit 1\n";
  std::string out = ns.run("bash " + path + " --delete", &status);
  std::ofstream(restore, std::ios::trunc) << wrapper;
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("the iptables part was undone"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), installed);
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(count(ns.rules(), "-m bpf"), 0u);
  EXPECT_EQ(count(ns.rules(), " -j ACCEPT"), 3u);
  std::remove(path.c_str());
}

TEST_P(ScriptKernel, ASetPerFamilyInstallsAndDeletes) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  int status = 0;
  run_shell("command -v ipset", &status);
  P0FBPF_REQUIRE(status == 0, "ipset is not installed (apt-get install ipset)");
  ns.run("ipset create p0fbpf4 hash:ip family inet", &status);
  P0FBPF_REQUIRE(status == 0, "ipset cannot create a set (no ip_set kernel module?)");
  ns.run("ipset create p0fbpf6 hash:ip family inet6", &status);
  ASSERT_EQ(status, 0);
  const std::string before = ns.rules();

  std::string swapped = write_script("-f script --ipset p0fbpf6,p0fbpf4 -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
  std::string out = ns.run("bash " + swapped, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("ipset p0fbpf6 is not of family inet,"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), before);

  std::string path = write_script("-f script --ipset p0fbpf4,p0fbpf6 -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
  out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(count(ns.run("iptables -S INPUT"), "--match-set p0fbpf4 dst -m bpf"), 1u);
  EXPECT_EQ(count(ns.run("ip6tables -S INPUT"), "--match-set p0fbpf6 dst -m bpf"), 1u);
  ns.run("bash " + path, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(count(ns.rules(), "-m bpf"), 2u);
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(ns.rules(), before);
  std::remove(swapped.c_str());
  std::remove(path.c_str());
}

TEST(Script, HostileLabelsReachCommentsSanitised) {
  int status = 0;
  run_shell("command -v shellcheck", &status);
  P0FBPF_REQUIRE(status == 0, "shellcheck is not installed (apt-get install shellcheck)");
  std::string db = ::testing::TempDir() + "p0fbpf_hostile_" + std::to_string(getpid()) + ".fp";
  std::ofstream(db) << "[tcp:request]\nlabel = s:unix:$(touch /tmp/p0fbpf-pwned):`id` \"\\ it's\n"
                       "sig = 4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0\n";
  std::string path = ::testing::TempDir() + "p0fbpf_hostile_" + std::to_string(getpid()) + ".sh";
  std::string err_path = path + ".err";
  run_shell("(" + std::string(P0FBPF_BINARY) + " -F " + db + " --label . -f script > " + path + " 2> " + err_path + ")",
            &status);
  std::string err = read_file(err_path);
  std::remove(err_path.c_str());
  EXPECT_EQ(status, 0) << err;
  EXPECT_NE(err.find("warning:"), std::string::npos) << err;
  std::string script = read_file(path);
  EXPECT_NE(script.find("--comment 'p0fbpf: s:unix:_(touch /tmp/p0fbpf-pwned):_id_ __ it_s'"), std::string::npos)
      << script;
  std::string out = run_shell("shellcheck " + path, &status);
  EXPECT_EQ(status, 0) << out;
  std::remove(db.c_str());
  std::remove(path.c_str());
}

#define REQUIRE_BPFFS(bpffs) P0FBPF_REQUIRE((bpffs).mounted(), "cannot mount a BPF file system at " + (bpffs).path())

ino_t inode(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// --pinned for a label far over --bytecode's 64 instructions: one rule per
// IP version, both running the program the script pinned; running it again
// changes nothing, not even the pin, and --delete takes the rules, then the
// pin, also when the pin was gone.
TEST_P(ScriptKernel, PinnedInstallsOneRulePerVersionAndDeletesThePin) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  P0FBPF_REQUIRE(std::ifstream("/etc/p0f/p0f.fp").good(), "/etc/p0f/p0f.fp missing (apt-get install p0f)");
  Bpffs bpffs("script");
  REQUIRE_BPFFS(bpffs);
  int status = 0;
  std::string out = run_shell(std::string(P0FBPF_BINARY) + " -F /etc/p0f/p0f.fp --label Linux", &status);
  EXPECT_EQ(status, 2) << "the label fits in one --bytecode program: " << out;
  std::string path = write_script("-F /etc/p0f/p0f.fp --label Linux -f script --pinned " + bpffs.path());
  ns.run("iptables -A INPUT -p tcp --dport 22 -j ACCEPT");  // the user's own, which stays

  out = ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0) << out;
  std::string pins = bpffs.pins();
  ASSERT_EQ(count(pins, "\n"), 1u) << pins;
  const std::string pin = bpffs.path() + "/" + pins.substr(0, pins.size() - 1);
  const std::string v4 = ns.run("iptables -S INPUT");
  const std::string v6 = ns.run("ip6tables -S INPUT");
  const std::string rule = "-p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m bpf --object-pinned " + pin +
                           " -m comment --comment \"p0fbpf: s:unix:Linux:3.11 and newer; ";
  EXPECT_EQ(count(v4, "-m bpf"), 1u) << v4;
  EXPECT_EQ(count(v4, rule), 1u) << v4;
  EXPECT_EQ(count(v6, "-m bpf"), 1u) << v6;
  EXPECT_EQ(count(v6, rule), 1u) << v6;
  const ino_t pinned = inode(pin);
  ASSERT_NE(pinned, 0u);

  out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(ns.run("iptables -S INPUT"), v4);
  EXPECT_EQ(ns.run("ip6tables -S INPUT"), v6);
  EXPECT_EQ(bpffs.pins(), pins);
  EXPECT_EQ(inode(pin), pinned) << "pinned again";

  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  std::string after4 = ns.run("iptables -S INPUT");
  EXPECT_EQ(count(after4, "-m bpf"), 0u) << after4;
  EXPECT_NE(after4.find("--dport 22 -j ACCEPT"), std::string::npos) << after4;
  EXPECT_EQ(count(ns.run("ip6tables -S INPUT"), "-m bpf"), 0u);
  EXPECT_EQ(bpffs.pins(), "");

  // Installed again and its pin removed by hand: --delete finds the rules
  // by their markers, removes them and pins nothing.
  out = ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0) << out;
  ASSERT_EQ(unlink(pin.c_str()), 0);
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(count(ns.rules(), "-m bpf"), 0u) << ns.rules();
  EXPECT_EQ(bpffs.pins(), "");
  // Nothing installed: --delete changes nothing and pins nothing.
  const std::string before = ns.rules();
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(ns.rules(), before);
  EXPECT_EQ(bpffs.pins(), "");
  std::remove(path.c_str());
}

// The pin a failed run made goes with it; a p0fbpf that does not run and a
// directory that is no BPF file system stop the script before any change.
TEST_P(ScriptKernel, PinnedFailuresLeaveNoPin) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  Bpffs bpffs("script");
  REQUIRE_BPFFS(bpffs);
  ns.run("iptables -N P0FBPF_TARGET4");  // a target chain that ip6tables lacks
  const std::string before = ns.rules();
  std::string path =
      write_script("-f script --pinned " + bpffs.path() + " --target P0FBPF_TARGET4 -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
  int status = 0;
  std::string out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("the iptables part was undone"), std::string::npos) << out;
  EXPECT_NE(out.find("p0fbpf: pinned " + bpffs.path() + "/p0fbpf_"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), before);
  EXPECT_EQ(bpffs.pins(), "");

  path = write_script("-f script --pinned " + bpffs.path() + " -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
  out = ns.run("env P0FBPF=/nonexistent/p0fbpf bash " + path, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("cannot run /nonexistent/p0fbpf"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), before);
  EXPECT_EQ(bpffs.pins(), "");

  std::string plain = ::testing::TempDir() + "p0fbpf_not_bpffs_" + std::to_string(getpid());
  mkdir(plain.c_str(), 0700);
  path = write_script("-f script --pinned " + plain + " -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
  out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find(plain + " is not a BPF file system"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), before);
  EXPECT_EQ(rmdir(plain.c_str()), 0) << "the script wrote in " << plain;
  std::remove(path.c_str());
}

TEST_P(ScriptKernel, TruncatedPinnedScriptChangesNothing) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  Bpffs bpffs("script");
  REQUIRE_BPFFS(bpffs);
  P0FBPF_REQUIRE(std::ifstream("/etc/p0f/p0f.fp").good(), "/etc/p0f/p0f.fp missing (apt-get install p0f)");
  std::string path = write_script("-f script --pinned " + bpffs.path() + " -F /etc/p0f/p0f.fp --label Linux");
  expect_cut_copies_change_nothing(
      ns, path, [&] { return ns.rules() + bpffs.pins(); }, "-m bpf --object-pinned " + bpffs.path() + "/p0fbpf_", 2);
  std::remove(path.c_str());
}

// Two small signatures, one per IP version: rules in both families (one
// rule per family when pinned); and one for both: a rule per family.
const std::string kTwoSignatures = " '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0' '*:128:0:*:8192,0:mss:df,id+:0'";
const std::string kOneSignature = " '*:128:0:*:8192,0:mss:df,id+:0'";

// INT, TERM or HUP at any point of an install or a --delete leave both
// families' rules as before or as after a whole run, never one without the
// other; a rule of the user's own stays.
TEST_P(ScriptKernel, InterruptsLeaveBothFamiliesOrNeither) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  std::string path = write_script("-f script" + kOneSignature);
  ns.run("iptables -A INPUT -p tcp --dport 22 -j ACCEPT");
  ns.run("ip6tables -A INPUT -p tcp --dport 22 -j ACCEPT");
  auto state = [&] { return ns.rules(); };
  testing::expect_interrupts_leave_all_or_nothing(ns.tools(), ns.in(), path, path + " --delete", state);
  int status = 0;
  ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0);
  EXPECT_EQ(count(ns.run("iptables -S INPUT"), "-m bpf"), 1u);
  EXPECT_EQ(count(ns.run("ip6tables -S INPUT"), "-m bpf"), 1u);
  testing::expect_interrupts_leave_all_or_nothing(ns.tools(), ns.in(), path + " --delete", path, state);
  EXPECT_EQ(count(ns.rules(), "--dport 22 -j ACCEPT"), 2u);
  std::remove(path.c_str());
}

// The same with a pinned program: the pin is there exactly when the rules
// are, whatever the interrupt (p0fbpf pin is one of the calls).
TEST_P(ScriptKernel, InterruptsLeavePinnedRulesAndPinOrNeither) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  Bpffs bpffs("script");
  REQUIRE_BPFFS(bpffs);
  std::string path = write_script("-f script --pinned " + bpffs.path() + kTwoSignatures);
  auto state = [&] { return ns.rules() + bpffs.pins(); };
  testing::expect_interrupts_leave_all_or_nothing(ns.tools(), ns.in(), path, path + " --delete", state);
  int status = 0;
  ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0);
  ASSERT_EQ(count(bpffs.pins(), "\n"), 1u);
  testing::expect_interrupts_leave_all_or_nothing(ns.tools(), ns.in(), path + " --delete", path, state);
  std::remove(path.c_str());
}

// Copies of a script run at once, 20 rounds: every copy exits 0 and each
// rule is there once; then as many --deletes at once leave none.
void expect_concurrent_runs_serialise(const Namespace& ns, const std::string& path, const std::string& state_extra_name,
                                      const std::function<std::string()>& extra, int rounds) {
  const std::string three = "bash -c 'bash " + path + " $0 & a=$!; bash " + path + " $0 & b=$!; bash " + path +
                            " $0 & c=$!; s=; for p in $a $b $c; do wait $p; s+=\"$? \"; done; echo \"$s\"'";
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string out = ns.run(three + " ''");
    EXPECT_NE(out.find("0 0 0 \n"), std::string::npos) << out;
    std::string v4 = ns.run("iptables -S INPUT"), v6 = ns.run("ip6tables -S INPUT");
    EXPECT_EQ(count(v4, "-m bpf"), 1u) << v4;
    EXPECT_EQ(count(v6, "-m bpf"), 1u) << v6;
    if (extra) {
      EXPECT_EQ(count(extra(), "\n"), 1u) << state_extra_name;
    }
    out = ns.run(three + " --delete");
    EXPECT_NE(out.find("0 0 0 \n"), std::string::npos) << out;
    EXPECT_EQ(count(ns.rules(), "-m bpf"), 0u) << ns.rules();
    if (extra) {
      EXPECT_EQ(extra(), "") << state_extra_name;
    }
  }
}

TEST_P(ScriptKernel, ConcurrentRunsSerialise) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  std::string path = write_script("-f script" + kOneSignature);
  expect_concurrent_runs_serialise(ns, path, "", nullptr, 20);
  std::remove(path.c_str());
}

TEST_P(ScriptKernel, ConcurrentPinnedRunsSerialise) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  Bpffs bpffs("script");
  REQUIRE_BPFFS(bpffs);
  std::string path = write_script("-f script --pinned " + bpffs.path() + kTwoSignatures);
  expect_concurrent_runs_serialise(ns, path, "pins", [&] { return bpffs.pins(); }, 10);
  std::remove(path.c_str());
}

// A run that cannot take the lock in time fails clearly and changes nothing.
TEST_P(ScriptKernel, ALockHeldTooLongFailsClearly) {
  Namespace ns(GetParam());
  REQUIRE_NAMESPACE(ns);
  int status = 0;
  run_shell("command -v flock", &status);
  P0FBPF_REQUIRE(status == 0, "flock is not installed (util-linux)");
  std::string path = write_script("-f script" + kTwoSignatures);
  std::string script = read_file(path);
  // The same script with a wait of 1 s instead of 60.
  std::size_t at = script.find("flock -w 60 9");
  ASSERT_NE(at, std::string::npos);
  script.replace(at, 13, "flock -w 1 9");
  std::ofstream(path, std::ios::binary | std::ios::trunc) << script;
  const std::string before = ns.rules();
  std::string out = ns.run("flock /run/lock/p0fbpf-script.lock bash " + path, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("another p0fbpf script has held /run/lock/p0fbpf-script.lock"), std::string::npos) << out;
  EXPECT_EQ(ns.rules(), before);
  std::remove(path.c_str());
}

// The olen field (the third) of a p0f signature.
std::string options_length(const std::string& sig) {
  std::size_t first = sig.find(':'), second = sig.find(':', first + 1);
  return sig.substr(second + 1, sig.find(':', second + 1) - second - 1);
}

// A --count-only --pinned script for 20 p0f.fp request signatures: its two
// rules count together exactly the frames p0f strictly matches with any of
// them, among frames built for them and for 20 others.
TEST_P(ScriptKernel, PinnedRulesCountWhatP0fMatches) {
  P0FBPF_REQUIRE(geteuid() == 0, "needs root for network namespaces and iptables");
  int status = 0;
  testing::ScriptTools tools(GetParam());
  P0FBPF_REQUIRE(tools.ok(), "missing:" + tools.missing());
  std::optional<std::string> p0f = testing::find_p0f();
  P0FBPF_REQUIRE(p0f.has_value(), "p0f is not installed (apt-get install p0f)");
  P0FBPF_REQUIRE(std::ifstream("/etc/p0f/p0f.fp").good(), "/etc/p0f/p0f.fp missing (apt-get install p0f)");
  Bpffs bpffs("script");
  REQUIRE_BPFFS(bpffs);
  testing::Namespaces ns;
  // The SYNs go to 192.0.2.1 and 2001:db8:ffff::1 (see assign_flow), local in b.
  ns.run("ip -n " + ns.b() + " addr add 192.0.2.1/24 dev vb");
  ns.run("ip -n " + ns.b() + " addr add 2001:db8:ffff::1/64 dev vb nodad");
  ns.run("ip -n " + ns.b() + " route add default dev vb");
  ns.run("ip -n " + ns.b() + " -6 route add default dev vb");

  // Without IP options, which the kernel may drop before INPUT sees them.
  std::vector<std::string> sigs;
  for (const auto& s : testing::tcp_signatures("/etc/p0f/p0f.fp")) {
    if (!s.response && options_length(s.text) == "0" && sigs.size() < 40) sigs.push_back(s.text);
  }
  ASSERT_EQ(sigs.size(), 40u);
  std::vector<std::string> selected;
  for (std::size_t i = 0; i < sigs.size(); i += 2) selected.push_back(sigs[i]);

  std::uint64_t seed = testing::seed_from_env();
  std::cout << "seed " << seed << "\n";
  testing::Random rng(seed);
  std::vector<testing::PacketSpec> packets;
  for (const auto& sig : sigs) {
    Signature parsed = *parse_signature(sig);
    for (bool v6 : {false, true}) {
      if ((parsed.version == IpVersion::V4 && v6) || (parsed.version == IpVersion::V6 && !v6)) continue;
      for (int i = 0; i < 3; ++i) packets.push_back(testing::matching_packet(parsed, v6, false, rng));
    }
  }
  std::vector<bool> matched(packets.size(), false);
  for (const auto& sig : selected) {
    std::vector<testing::OracleVerdict> verdicts = testing::run_p0f(*p0f, packets, sig, false);
    ASSERT_EQ(verdicts.size(), packets.size());
    for (std::size_t i = 0; i < packets.size(); ++i) {
      bool other_version = (sig[0] == '4' && packets[i].ipv6) || (sig[0] == '6' && !packets[i].ipv6);
      if (verdicts[i].matched && !other_version) matched[i] = true;
    }
  }
  long expected = 0, expected6 = 0;
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    expected += matched[i];
    expected6 += matched[i] && packets[i].ipv6;
    testing::PacketSpec p = packets[i];
    testing::assign_flow(p, i, false);
    frames.push_back(testing::frame_to(p, ns.mac_b()));
  }
  ASSERT_GT(expected6, 0);
  ASSERT_GT(expected - expected6, 0);
  ASSERT_LT(expected, static_cast<long>(packets.size()));

  std::string arguments = "-f script --count-only --pinned " + bpffs.path();
  for (const auto& sig : selected) arguments += " '" + sig + "'";
  std::string path = write_script(arguments);
  std::string in_b = "ip netns exec " + ns.b() + " " + tools.env();
  std::string out = run_shell(in_b + "bash " + path, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(testing::in_namespace(ns.a(), [&] { return testing::inject(frames); }), std::to_string(frames.size()));
  usleep(300000);
  std::vector<long> v4 = testing::bpf_rule_counters(ns.b(), tools.env() + "iptables", "filter", "INPUT");
  std::vector<long> v6 = testing::bpf_rule_counters(ns.b(), tools.env() + "ip6tables", "filter", "INPUT");
  ASSERT_EQ(v4.size(), 1u);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v4[0], expected - expected6);
  EXPECT_EQ(v6[0], expected6);
  std::cout << selected.size() << " signatures in one pinned program: " << expected << " of " << frames.size()
            << " frames counted\n";

  out = run_shell(in_b + "bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(bpffs.pins(), "");
  std::remove(path.c_str());
}

}  // namespace
}  // namespace p0fbpf
