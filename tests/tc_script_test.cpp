// tc scripts: what they accept, shellcheck's opinion, and what they do to a
// device's clsact hook in a network namespace of their own.
#include "p0fbpf/tc_script.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "test_env.hpp"

namespace p0fbpf {
namespace {

using testing::run_shell;

constexpr const char* kDesignCard = "'4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'";

TEST(TcScript, RefusesUnsafeOrUnusableOptions) {
  TcScriptOptions o;
  EXPECT_TRUE(check_tc_script_options(o).has_value());  // no device
  o.device = "eth0";
  EXPECT_FALSE(check_tc_script_options(o).has_value());
  for (const char* device : {"eth0;reboot", "$(id)", "-dev", "a b", "sixteen-chars-xx"}) {
    o.device = device;
    EXPECT_TRUE(check_tc_script_options(o).has_value()) << device;
  }
  o.device = "eth0.10";
  EXPECT_FALSE(check_tc_script_options(o).has_value());
  o.direction = "both";
  EXPECT_TRUE(check_tc_script_options(o).has_value());
  o.direction = "egress";
  o.action = "mirred egress mirror dev eth1";
  EXPECT_FALSE(check_tc_script_options(o).has_value());
  for (const char* action : {"drop; reboot", "pass `id`", "", "  ", "pass $x"}) {
    o.action = action;
    EXPECT_TRUE(check_tc_script_options(o).has_value()) << action;
  }
  o.action = "drop";
  o.priority = 70000;
  EXPECT_TRUE(check_tc_script_options(o).has_value());
}

TEST(TcScript, HoldsBothProgramsAndQuotesTheAction) {
  TcScriptOptions o;
  o.device = "wg0";
  o.direction = "egress";
  o.action = "mirred egress mirror dev sink0";
  o.description = "s:unix:Linux:3.11 and newer";
  std::string s = tc_script("1,6 0 0 1", "1,6 0 0 2", o);
  EXPECT_EQ(s.rfind("#!/usr/bin/env bash\n", 0), 0u);
  EXPECT_NE(s.find("\nethernet_program='1,6 0 0 1'\n"), std::string::npos) << s;
  EXPECT_NE(s.find("\nip_program='1,6 0 0 2'\n"), std::string::npos);
  EXPECT_NE(s.find("\ntc_action=( 'mirred' 'egress' 'mirror' 'dev' 'sink0' )\n"), std::string::npos);
  EXPECT_NE(s.find("\ndev='wg0'\ndirection=egress\npref=3056\n"), std::string::npos);
}

std::string p0fbpf_script(const std::string& arguments) {
  static int n = 0;
  std::string path = ::testing::TempDir() + "p0fbpf_tc_" + std::to_string(getpid()) + "_" + std::to_string(++n) + ".sh";
  int status = 0;
  std::string out = run_shell("(" + std::string(P0FBPF_BINARY) + " " + arguments + " > " + path + ")", &status);
  EXPECT_EQ(status, 0) << out;
  return path;
}

TEST(TcScript, ShellcheckFindsNothing) {
  int status = 0;
  run_shell("command -v shellcheck", &status);
  P0FBPF_REQUIRE(status == 0, "shellcheck is not installed (apt-get install shellcheck)");
  std::string path = p0fbpf_script(std::string("-f script --hook tc --dev eth0 --direction egress ") + kDesignCard);
  std::string out = run_shell("shellcheck " + path, &status);
  EXPECT_EQ(status, 0) << out;
  std::remove(path.c_str());
}

TEST(TcScript, BadOptionsExitTwoWithNothingOnStdout) {
  for (const char* arguments : {"-f script --hook tc", "-f script --hook tc --dev 'eth0;id'",
                                "-f script --hook tc --dev eth0 --direction sideways",
                                "-f script --hook tc --dev eth0 --split", "-f script --hook tc --dev eth0 -d 192.0.2.1",
                                "-f script --hook tc --dev eth0 --count-only --target drop",
                                "--hook tc --dev eth0", "-f script --dev eth0"}) {
    int status = 0;
    std::string out = run_shell("(" + std::string(P0FBPF_BINARY) + " " + arguments + " " + kDesignCard + " 2>/dev/null)",
                                &status);
    EXPECT_EQ(status, 2) << arguments;
    EXPECT_EQ(out, "") << arguments;
  }
}

// Two namespaces' worth of devices in one: d0 (Ethernet, a veth) for the
// filter and s0 for mirred to mirror to, since this kernel may lack gact.
class TcNamespace {
 public:
  TcNamespace() {
    int status = 0;
    run_shell("command -v ip && command -v tc", &status);
    if (geteuid() != 0 || status != 0) return;
    run_shell("ip netns add " + name_, &status);
    if (status != 0) return;
    run("ip link add d0 type veth peer name d1", &status);
    if (status == 0) run("ip link add s0 type veth peer name s1", &status);
    for (const char* d : {"d0", "d1", "s0", "s1"}) run(std::string("ip link set ") + d + " up");
    usable_ = status == 0;
  }
  ~TcNamespace() { run_shell("ip netns del " + name_ + " 2>/dev/null"); }
  bool usable() const { return usable_; }
  std::string run(const std::string& command, int* status = nullptr) const {
    return run_shell("ip netns exec " + name_ + " " + command, status);
  }
  std::string qdiscs() const { return run("tc qdisc show dev d0"); }
  std::string filters() const { return run("tc filter show dev d0 ingress") + run("tc filter show dev d0 egress"); }

 private:
  std::string name_ = "p0fbpf-tc-" + std::to_string(getpid());
  bool usable_ = false;
};

#define REQUIRE_TC_NAMESPACE(ns) P0FBPF_REQUIRE((ns).usable(), "needs root, ip and tc for a network namespace")

// The script itself: install, install again (nothing changes), delete
// (exactly its filter, and clsact because it added it).
TEST(TcScript, InstallsOnceAndDeletesExactlyItsFilter) {
  TcNamespace ns;
  REQUIRE_TC_NAMESPACE(ns);
  const std::string bare = ns.qdiscs();
  ASSERT_EQ(bare.find("clsact"), std::string::npos);
  std::string path = p0fbpf_script("-f script --hook tc --dev d0 --target 'mirred egress mirror dev s0' "
                                   "--label 'Linux:3.11 and newer'");
  int status = 0;
  std::string out = ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0) << out;
  std::string filters = ns.filters();
  EXPECT_NE(filters.find("pref 3056 bpf"), std::string::npos) << filters;
  EXPECT_NE(filters.find("Egress Mirror to device s0"), std::string::npos) << filters;
  // d0 is Ethernet: the program reads from the Ethernet header.
  std::string ethernet = run_shell(std::string(P0FBPF_BINARY) + " --link ether --max-insns 4096 --label 'Linux:3.11 and newer'");
  ethernet.pop_back();
  EXPECT_NE(filters.find("bytecode '" + ethernet + "'"), std::string::npos) << filters;
  EXPECT_NE(ns.qdiscs().find("clsact"), std::string::npos);

  ns.run("bash " + path, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(ns.filters(), filters);

  // A filter of the user's own at another priority stays.
  ns.run("tc filter add dev d0 egress protocol all pref 7 bpf bytecode '1,6 0 0 0' action mirred egress mirror dev s0",
         &status);
  ASSERT_EQ(status, 0);
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  std::string left = ns.filters();
  EXPECT_EQ(left.find("pref 3056"), std::string::npos) << left;
  EXPECT_NE(left.find("pref 7 bpf"), std::string::npos) << left;
  EXPECT_NE(ns.qdiscs().find("clsact"), std::string::npos);  // still in use by the user's filter
  ns.run("tc filter del dev d0 egress pref 7");
  // Added again with no clsact there, and deleted: clsact goes too.
  ns.run("tc qdisc del dev d0 clsact");
  ns.run("bash " + path, &status);
  EXPECT_NE(ns.qdiscs().find("clsact"), std::string::npos);
  ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(ns.qdiscs(), bare);
  std::remove(path.c_str());
}

TEST(TcScript, KeepsAClsactItDidNotAdd) {
  TcNamespace ns;
  REQUIRE_TC_NAMESPACE(ns);
  int status = 0;
  ns.run("tc qdisc add dev d0 clsact", &status);
  ASSERT_EQ(status, 0);
  std::string path = p0fbpf_script(std::string("-f script --hook tc --dev d0 --direction egress "
                                               "--target 'mirred egress mirror dev s0' ") + kDesignCard);
  ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0);
  EXPECT_NE(ns.run("tc filter show dev d0 egress").find("pref 3056 bpf"), std::string::npos);
  ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(ns.filters().find("bpf"), std::string::npos);
  EXPECT_NE(ns.qdiscs().find("clsact"), std::string::npos);
  std::remove(path.c_str());
}

// What tc refuses (here perhaps `action drop`, without the gact module; or
// an action on a device that does not exist) leaves nothing behind; so does
// a missing device, and a copy of the script cut short.
TEST(TcScript, AFailedInstallChangesNothing) {
  TcNamespace ns;
  REQUIRE_TC_NAMESPACE(ns);
  const std::string qdiscs = ns.qdiscs();
  int status = 0;
  std::string refused = p0fbpf_script(std::string("-f script --hook tc --dev d0 "
                                                  "--target 'mirred egress mirror dev nosuch0' ") + kDesignCard);
  std::string out = ns.run("bash " + refused, &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("tc refused the filter; nothing was changed"), std::string::npos) << out;
  EXPECT_EQ(ns.qdiscs(), qdiscs);

  std::string missing = p0fbpf_script(std::string("-f script --hook tc --dev nosuch0 ") + kDesignCard);
  out = ns.run("bash " + missing, &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.find("there is no device nosuch0"), std::string::npos) << out;

  std::string good = p0fbpf_script(std::string("-f script --hook tc --dev d0 --target 'mirred egress mirror dev s0' ") +
                                   kDesignCard);
  std::ifstream in(good, std::ios::binary);
  std::string script((std::istreambuf_iterator<char>(in)), {});
  std::string cut_path = good + ".cut";
  for (std::size_t i = 1; i < 12; ++i) {
    std::size_t cut = script.size() * i / 12;
    std::ofstream(cut_path, std::ios::binary) << script.substr(0, cut);
    ns.run("bash " + cut_path, &status);
    EXPECT_NE(status, 0) << "cut at " << cut;
    EXPECT_EQ(ns.qdiscs(), qdiscs) << "cut at " << cut;
  }
  for (const std::string& p : {refused, missing, good, cut_path}) std::remove(p.c_str());
}

}  // namespace
}  // namespace p0fbpf
