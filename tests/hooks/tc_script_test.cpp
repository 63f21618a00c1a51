// tc scripts: what they accept, shellcheck's opinion, and what they do to a
// device's clsact hook in a network namespace of their own.
#include "p0fbpf/tc_script.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "script_tools.hpp"
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
  std::string in() const { return "ip netns exec " + name_ + " "; }
  std::string qdiscs() const { return run("tc qdisc show dev d0"); }
  std::string filters() const { return run("tc filter show dev d0 ingress") + run("tc filter show dev d0 egress"); }
  // The filters' own lines (not their actions', whose index grows).
  std::string filter_lines() const {
    std::string out, all = filters();
    for (std::size_t at = 0; at < all.size();) {
      std::size_t end = all.find('\n', at);
      if (end == std::string::npos) end = all.size();
      if (all.compare(at, 7, "filter ") == 0) out += all.substr(at, end - at) + "\n";
      at = end + 1;
    }
    return out;
  }
  // The record of a clsact qdisc p0fbpf added to d0: "record\n" or "".
  std::string record() const {
    std::string netns = run("readlink /proc/self/ns/net"), ifindex = run("cat /sys/class/net/d0/ifindex");
    std::string digits;
    for (char c : netns) {
      if (c >= '0' && c <= '9') digits += c;
    }
    if (!ifindex.empty()) ifindex.pop_back();
    return access(("/run/p0fbpf/clsact-net" + digits + "-if" + ifindex).c_str(), F_OK) == 0 ? "record\n" : "";
  }
  // What a tc script may change on d0.
  std::string state() const { return filter_lines() + qdiscs() + record(); }

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
                                   "-F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
  int status = 0;
  std::string out = ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0) << out;
  std::string filters = ns.filters();
  EXPECT_NE(filters.find("pref 3056 bpf"), std::string::npos) << filters;
  EXPECT_NE(filters.find("Egress Mirror to device s0"), std::string::npos) << filters;
  // d0 is Ethernet: the program reads from the Ethernet header.
  std::string ethernet = run_shell(std::string(P0FBPF_BINARY) + " --link ether --max-insns 4096 -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer'");
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
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("tc refused the filter; nothing was changed"), std::string::npos) << out;
  EXPECT_EQ(ns.qdiscs(), qdiscs);

  std::string missing = p0fbpf_script(std::string("-f script --hook tc --dev nosuch0 ") + kDesignCard);
  out = ns.run("bash " + missing, &status);
  EXPECT_EQ(status, 2);
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


constexpr const char* kForeign = "tc filter add dev d0 ingress protocol all pref 3056 handle %s bpf bytecode '1,6 0 0 0' "
                                 "action mirred egress mirror dev s0";

std::string foreign(const std::string& handle) {
  std::string command = kForeign;
  return command.replace(command.find("%s"), 2, handle);
}

// A filter of someone else's at the script's pref: installing refuses and
// names it, whatever its handle (1, or the script's own 0xf0bf with another
// program), and --delete removes the script's own filter and never another.
TEST(TcScript, NeverReplacesOrDeletesAForeignFilterAtItsPref) {
  TcNamespace ns;
  REQUIRE_TC_NAMESPACE(ns);
  std::string path = p0fbpf_script(std::string("-f script --hook tc --dev d0 --target 'mirred egress mirror dev s0' ") +
                                   kDesignCard);
  int status = 0;
  for (const char* handle : {"1", "0xf0bf"}) {
    SCOPED_TRACE(handle);
    ns.run("tc qdisc add dev d0 clsact");
    ns.run(foreign(handle), &status);
    ASSERT_EQ(status, 0);
    const std::string before = ns.state();
    std::string out = ns.run("bash " + path, &status);
    EXPECT_EQ(status, 2) << out;
    EXPECT_NE(out.find("a filter that is not this script's holds pref 3056 on d0 ingress"), std::string::npos) << out;
    EXPECT_NE(out.find(std::string(" handle ") + (handle[0] == '1' ? "0x1" : handle) + " "), std::string::npos) << out;
    EXPECT_EQ(ns.state(), before);
    out = ns.run("bash " + path + " --delete", &status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(ns.state(), before);
    ns.run("tc qdisc del dev d0 clsact");
  }
  // Ours first, then a foreign one beside it at the same pref.
  std::string out = ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0) << out;
  ns.run(foreign("5"), &status);
  ASSERT_EQ(status, 0);
  std::string both = ns.filter_lines();
  ASSERT_NE(both.find(" handle 0xf0bf "), std::string::npos) << both;
  ASSERT_NE(both.find(" handle 0x5 "), std::string::npos) << both;
  out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_EQ(ns.filter_lines(), both);
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  std::string left = ns.filter_lines();
  EXPECT_EQ(left.find(" handle 0xf0bf "), std::string::npos) << left;
  EXPECT_NE(left.find(" handle 0x5 not_in_hw bytecode '1,6 0 0 0'"), std::string::npos) << left;
  // The clsact the script added stays while the foreign filter uses it.
  EXPECT_NE(ns.qdiscs().find("clsact"), std::string::npos);
  EXPECT_EQ(ns.record(), "record\n");
  ns.run("tc filter del dev d0 ingress pref 3056");
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(ns.qdiscs().find("clsact"), std::string::npos);
  EXPECT_EQ(ns.record(), "");
  std::remove(path.c_str());
}

// Killed (SIGKILL: no trap runs) after it added clsact and before its
// filter: the qdisc stays with its record, the next run takes it for
// p0fbpf's own, and --delete removes it.
TEST(TcScript, AQdiscLeftByAKilledRunIsKnownLater) {
  TcNamespace ns;
  REQUIRE_TC_NAMESPACE(ns);
  testing::ScriptTools tools;
  P0FBPF_REQUIRE(tools.ok(), "missing:" + tools.missing());
  std::string path = p0fbpf_script(std::string("-f script --hook tc --dev d0 --target 'mirred egress mirror dev s0' ") +
                                   kDesignCard);
  const std::string bare = ns.state();
  ASSERT_EQ(bare.find("clsact"), std::string::npos);
  int status = 0;
  std::string out = run_shell(ns.in() + testing::interruptible(tools.env() + "P0FBPF_TEST_SIGNAL=KILL "
                                                                            "P0FBPF_TEST_SIGNAL_ARGS='filter add'",
                                                               path, true),
                              &status);
  EXPECT_NE(status, 0) << out;
  EXPECT_NE(ns.qdiscs().find("clsact"), std::string::npos);
  EXPECT_EQ(ns.filter_lines(), "");
  EXPECT_EQ(ns.record(), "record\n");
  // --delete at once: nothing of the script's uses it.
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(ns.state(), bare);
  // Or installed, then deleted.
  run_shell(ns.in() + testing::interruptible(tools.env() + "P0FBPF_TEST_SIGNAL=KILL P0FBPF_TEST_SIGNAL_ARGS='filter add'",
                                             path, true));
  tools.reset();
  ASSERT_EQ(ns.record(), "record\n");
  out = ns.run("bash " + path, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(ns.filter_lines().find(" handle 0xf0bf "), std::string::npos);
  out = ns.run("bash " + path + " --delete", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(ns.state(), bare);
  std::remove(path.c_str());
}

// INT, TERM or HUP at any point of an install or a --delete leave d0 (its
// filters, clsact and the record) as before or as after a whole run.
TEST(TcScript, InterruptsLeaveTheDeviceAsBeforeOrAfter) {
  TcNamespace ns;
  REQUIRE_TC_NAMESPACE(ns);
  testing::ScriptTools tools;
  P0FBPF_REQUIRE(tools.ok(), "missing:" + tools.missing());
  std::string path = p0fbpf_script(std::string("-f script --hook tc --dev d0 --direction egress "
                                               "--target 'mirred egress mirror dev s0' ") + kDesignCard);
  auto state = [&] { return ns.state(); };
  testing::expect_interrupts_leave_all_or_nothing(tools, ns.in(), path, path + " --delete", state);
  int status = 0;
  ns.run("bash " + path, &status);
  ASSERT_EQ(status, 0);
  testing::expect_interrupts_leave_all_or_nothing(tools, ns.in(), path + " --delete", path, state);
  // With a clsact of the user's own, which stays.
  ns.run("bash " + path + " --delete");
  ns.run("tc qdisc add dev d0 clsact");
  testing::expect_interrupts_leave_all_or_nothing(tools, ns.in(), path, path + " --delete", state);
  EXPECT_NE(ns.qdiscs().find("clsact"), std::string::npos);
  std::remove(path.c_str());
}

// Three copies at once, 20 rounds: all exit 0 and there is one filter;
// three --deletes at once: all exit 0, and the filter and clsact are gone.
TEST(TcScript, ConcurrentRunsSerialise) {
  TcNamespace ns;
  REQUIRE_TC_NAMESPACE(ns);
  std::string path = p0fbpf_script(std::string("-f script --hook tc --dev d0 --target 'mirred egress mirror dev s0' ") +
                                   kDesignCard);
  const std::string bare = ns.state();
  const std::string three = "bash -c 'bash " + path + " $0 & a=$!; bash " + path + " $0 & b=$!; bash " + path +
                            " $0 & c=$!; s=; for p in $a $b $c; do wait $p; s+=\"$? \"; done; echo \"$s\"'";
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::string out = ns.run(three + " ''");
    EXPECT_NE(out.find("0 0 0 \n"), std::string::npos) << out;
    std::string filters = ns.filter_lines();
    EXPECT_EQ(filters.find("handle"), filters.rfind("handle")) << filters;
    EXPECT_NE(filters.find(" handle 0xf0bf "), std::string::npos) << filters;
    out = ns.run(three + " --delete");
    EXPECT_NE(out.find("0 0 0 \n"), std::string::npos) << out;
    EXPECT_EQ(ns.state(), bare);
  }
  std::remove(path.c_str());
}

}  // namespace
}  // namespace p0fbpf
