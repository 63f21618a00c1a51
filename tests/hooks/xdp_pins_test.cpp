// p0fbpf's pins and what it may touch (issue 20): `pin` and `xdp attach`
// replace only their own pins; concurrent runs take turns under one lock;
// XDP pins follow the device (namespace and index), not its name; detach
// finds the pins through the program; stale pins are listed and pruned;
// re-attaching keeps the counters. Root only: namespaces (names with "hx"
// and the pid), veth pairs, a BPF file system of the test's own.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include <memory>

#include <fmt/format.h>

#include "bpffs.hpp"
#include "cli_run.hpp"
#include "hooks/xdp_pins.hpp"
#include "netns.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "text_match.hpp"

namespace p0fbpf::testing {
namespace {

constexpr const char* kSig1 = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
constexpr const char* kSig2 = "4:64:0:*:65535,8:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0";
constexpr const char* kSig3 = "4:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0";

std::string quote(const std::string& arg) { return shell_quote(arg); }

std::set<long> json_ids(const std::string& json, const std::string& key) {
  std::set<long> out;
  auto list = first_match(json, "\"" + key + "\": ?\\[([0-9,]*)\\]");
  if (!list) return out;
  for (const auto& number : each_match((*list)[0], "([0-9]+)")) out.insert(std::stol(number[0]));
  return out;
}

// The names of pin directories come from a BPF file system anyone may
// write to: a name that is not ours is no directory of ours, whatever
// its digits.
TEST(XdpPinNames, OnlyOurNamesAreRead) {
  std::uint64_t netns = 0;
  std::uint32_t ifindex = 0;
  EXPECT_TRUE(xdp::pins::parse_directory_name("4026531840_7", netns, ifindex));
  EXPECT_EQ(netns, 4026531840u);
  EXPECT_EQ(ifindex, 7u);
  for (const char* foreign : {"4026531840_07", "4026531840_7x", "x4026531840_7", "4026531840_4294967296",
                              "123456789012345678901_7", "4026531840_7_new_1_0123abcd", ""}) {
    EXPECT_FALSE(xdp::pins::parse_directory_name(foreign, netns, ifindex)) << foreign;
  }
  // 4194305 is above the largest pid Linux allows (pid_max at most 2^22):
  // no process has it.
  EXPECT_EQ(xdp::pins::leftover_directory("4026531840_7_new_4194305_0123abcd"), "4026531840_7");
  EXPECT_EQ(xdp::pins::leftover_directory(fmt::format("4026531840_7_new_{}_0123abcd", getpid())), "");
  for (const char* foreign : {"4026531840_7_new_99999999999999999999_0123abcd", "4026531840_7_new_4194305_0123",
                              "4026531840_7_new_4194305_0123abcg", "4026531840_7"}) {
    EXPECT_EQ(xdp::pins::leftover_directory(foreign), "") << foreign;
  }
}

class XdpPins : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(geteuid() == 0, "needs root for network namespaces, XDP and bpffs");
    int status = 0;
    run_shell("command -v ip && command -v bpftool && command -v flock", &status);
    P0FBPF_REQUIRE(status == 0, "ip, bpftool or flock missing (apt-get install iproute2 bpftool util-linux)");
    std::string id = std::to_string(getpid());
    bpffs_mount_ = std::make_unique<Bpffs>("hx");
    bpffs_ = bpffs_mount_->path();
    P0FBPF_REQUIRE(bpffs_mount_->mounted(), "cannot mount a BPF file system at " + bpffs_);
    a_ = "p0fbpf-hx-a-" + id;
    b_ = "p0fbpf-hx-b-" + id;
    for (const std::string& command :
         {"ip netns add " + a_, "ip netns add " + b_,
          fmt::format("ip link add hxa netns {} type veth peer name hxb netns {}", a_, b_),
          fmt::format("ip -n {} link set hxa up", a_), fmt::format("ip -n {} link set hxb up", b_)}) {
      std::string out = run_shell(command + " 2>&1", &status);
      P0FBPF_REQUIRE(status == 0, command + ": " + out);
    }
  }
  void TearDown() override {
    run_shell(fmt::format("ip netns del {} 2>/dev/null; ip netns del {} 2>/dev/null", a_, b_));
    bpffs_mount_.reset();
  }

  std::string p0fbpf_in(const std::string& ns, const std::string& args, int* status) {
    return run_shell(fmt::format("ip netns exec {} {} {} 2>&1", ns, quote(P0FBPF_BINARY), args), status);
  }
  std::string bpffs_arg() const { return " --bpffs " + quote(bpffs_); }

  // The id of the XDP program on a device (0: none).
  long device_program(const std::string& ns, const std::string& device) {
    std::string json = run_shell(fmt::format("ip -n {} -j -d link show {}", ns, device));
    auto id = testing::first_match(json, "\"prog\": ?\\{\"id\": ?([0-9]+)");
    return id ? std::stol((*id)[0]) : 0;
  }
  long ifindex(const std::string& ns, const std::string& device) {
    return json_number(run_shell(fmt::format("ip -n {} -j link show {}", ns, device)), "ifindex");
  }
  std::string netns_inode(const std::string& ns) {
    std::string out = run_shell("stat -L -c %i /run/netns/" + ns);
    return out.substr(0, out.find_first_of(" \n"));
  }
  // The directories under BPFFS/p0fbpf.
  std::vector<std::string> pin_directories() {
    std::string out = run_shell(fmt::format("(ls -1 {}/p0fbpf 2>/dev/null)", quote(bpffs_)));
    std::vector<std::string> dirs;
    std::size_t at = 0;
    while (at < out.size()) {
      std::size_t end = out.find('\n', at);
      if (end == std::string::npos) end = out.size();
      if (end > at) dirs.push_back(bpffs_ + "/p0fbpf/" + out.substr(at, end - at));
      at = end + 1;
    }
    return dirs;
  }
  std::string prog_json(const std::string& path) {
    return run_shell("(bpftool -j prog show pinned " + quote(path) + " 2>/dev/null)");
  }
  std::string map_json(const std::string& path) {
    return run_shell("(bpftool -j map show pinned " + quote(path) + " 2>/dev/null)");
  }
  // The pins of `dir` name exactly the program on the device and its maps.
  void expect_pins_name(const std::string& dir, long program) {
    std::string prog = prog_json(dir + "/program");
    EXPECT_EQ(json_number(prog, "id"), program) << dir << ": " << prog;
    std::set<long> maps = json_ids(prog, "map_ids");
    for (const char* pin : {"counters", "names"}) {
      long id = json_number(map_json(dir + "/" + pin), "id");
      EXPECT_TRUE(maps.count(id)) << dir << "/" << pin << " is map " << id << ", not one of program " << program
                                  << "'s: " << prog;
    }
  }

  // How many of `frames`, sent out of hxa, arrive at hxb byte for byte.
  long frames_arriving_in(const std::vector<std::vector<std::uint8_t>>& frames) {
    return frames_arriving_between(a_, "hxa", b_, "hxb", frames);
  }

  std::string bpffs_, a_, b_;
  std::unique_ptr<Bpffs> bpffs_mount_;
};

// pin replaces only a socket filter it pinned itself; a foreign map, a
// foreign program (here: p0fbpf's own XDP program, pinned by hand) and a
// foreign PATH_new are left as they are.
TEST_F(XdpPins, PinReplacesOnlyItsOwnPin) {
  int status = 0;
  std::string foreign = bpffs_ + "/foreign";
  std::string out = run_shell(
      fmt::format("bpftool map create {} type array key 4 value 4 entries 1 name hxforeign 2>&1", quote(foreign)),
      &status);
  ASSERT_EQ(status, 0) << out;
  long foreign_id = json_number(map_json(foreign), "id");
  ASSERT_GT(foreign_id, 0);
  out = p0fbpf_in(b_, "pin " + quote(foreign) + " " + quote(kSig1), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find(foreign + " holds a BPF map"), std::string::npos) << out;
  EXPECT_EQ(json_number(map_json(foreign), "id"), foreign_id) << "the foreign map was replaced";

  // A foreign PATH_new stays; the pin goes in; pinning again replaces it.
  std::string path = bpffs_ + "/syn";
  out = run_shell(fmt::format("bpftool map create {}_new type array key 4 value 4 entries 1 name hxforeign 2>&1",
                              quote(path)),
                  &status);
  ASSERT_EQ(status, 0) << out;
  long new_id = json_number(map_json(path + "_new"), "id");
  out = p0fbpf_in(b_, "pin " + quote(path) + " " + quote(kSig1), &status);
  ASSERT_EQ(status, 0) << out;
  std::string first = prog_json(path);
  EXPECT_EQ(json_text(first, "type"), "socket_filter") << first;
  EXPECT_EQ(json_number(map_json(path + "_new"), "id"), new_id) << "the foreign " << path << "_new was touched";
  out = p0fbpf_in(b_, "pin " + quote(path) + " " + quote(kSig2), &status);
  ASSERT_EQ(status, 0) << out;
  long second = json_number(prog_json(path), "id");
  EXPECT_GT(second, 0);
  EXPECT_NE(second, json_number(first, "id"));
  EXPECT_EQ(json_number(map_json(path + "_new"), "id"), new_id);
  // Nothing else is left next to the pin.
  std::string listing = run_shell("ls " + quote(bpffs_));
  EXPECT_EQ(listing.find("syn_new_"), std::string::npos) << listing;

  // A program named p0fbpf, but not a socket filter p0fbpf pinned.
  out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + " " + quote(kSig1), &status);
  ASSERT_EQ(status, 0) << out;
  long xdp_id = device_program(b_, "hxb");
  std::string other = bpffs_ + "/xdp_by_hand";
  out = run_shell(fmt::format("bpftool prog pin id {} {} 2>&1", xdp_id, quote(other)), &status);
  ASSERT_EQ(status, 0) << out;
  out = p0fbpf_in(b_, "pin " + quote(other) + " " + quote(kSig1), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find(other), std::string::npos) << out;
  EXPECT_EQ(json_number(prog_json(other), "id"), xdp_id);

  // A directory for a path.
  out = p0fbpf_in(b_, "pin " + quote(bpffs_ + "/") + " " + quote(kSig1), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("is a directory"), std::string::npos) << out;
  EXPECT_EQ(out.find("cross-device"), std::string::npos) << out;
}

// What is pinned where an XDP attach pins, if not p0fbpf's, stops the
// attach before anything changes.
TEST_F(XdpPins, AttachRefusesForeignPinsInItsDirectory) {
  int status = 0;
  std::string dir = fmt::format("{}/p0fbpf/{}_{}", bpffs_, netns_inode(b_), ifindex(b_, "hxb"));
  std::string out = run_shell(fmt::format(
      "mkdir -p {0} && bpftool map create {0}/counters type array key 4 value 4 entries 1 name hxforeign 2>&1",
      quote(dir)), &status);
  ASSERT_EQ(status, 0) << out;
  long foreign_id = json_number(map_json(dir + "/counters"), "id");
  out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + " " + quote(kSig1), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find(dir + "/counters holds a BPF map"), std::string::npos) << out;
  EXPECT_EQ(device_program(b_, "hxb"), 0) << "attached despite the foreign pin";
  EXPECT_EQ(json_number(map_json(dir + "/counters"), "id"), foreign_id);
  out = p0fbpf_in(b_, "xdp prune" + bpffs_arg(), &status);
  EXPECT_EQ(json_number(map_json(dir + "/counters"), "id"), foreign_id) << "prune removed a foreign pin: " << out;
}

// Two attaches at once on one device, 20 times: they take turns, both
// succeed, and the pins name the program on the device and its maps.
TEST_F(XdpPins, ConcurrentAttachesSerialise) {
  std::string binary = quote(P0FBPF_BINARY);
  for (int round = 0; round < 20; ++round) {
    int status = 0;
    std::string out = run_shell(fmt::format(
        "ip netns exec {0} sh -c '{1} xdp attach hxb --bpffs {2} \"{3}\" > /dev/null 2>&1 & a=$!; "
        "{1} xdp attach hxb --bpffs {2} --count-only \"{4}\" \"{3}\" > /dev/null 2>&1; b=$?; wait $a; "
        "echo $? $b'",
        b_, P0FBPF_BINARY, bpffs_, kSig1, kSig2), &status);
    EXPECT_EQ(out, "0 0\n") << "round " << round << ": exit statuses " << out;
    long program = device_program(b_, "hxb");
    ASSERT_GT(program, 0) << "round " << round;
    std::vector<std::string> dirs = pin_directories();
    ASSERT_EQ(dirs.size(), 1u) << "round " << round;
    expect_pins_name(dirs[0], program);
    if (HasFailure()) {
      ADD_FAILURE() << "round " << round << " of " << binary;
      break;
    }
  }
}

// A run holding the lock makes the next one wait, then proceed.
TEST_F(XdpPins, TheSecondRunWaitsForTheLock) {
  int status = 0;
  auto start = std::chrono::steady_clock::now();
  std::string out = run_shell(fmt::format(
      "flock /run/lock/p0fbpf.lock sleep 2 & sleep 0.3; ip netns exec {} {} xdp attach hxb{} {} 2>&1; echo $?; wait",
      b_, quote(P0FBPF_BINARY), bpffs_arg(), quote(kSig1)), &status);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(out.find("waiting"), std::string::npos) << out;
  EXPECT_NE(out.find("\n0\n"), std::string::npos) << out;
  EXPECT_GE(seconds, 1.9) << out;
  EXPECT_GT(device_program(b_, "hxb"), 0);
}

// Pins follow the device: renamed, then deleted, detach leaves none.
TEST_F(XdpPins, DetachAfterRenameAndDelete) {
  int status = 0;
  std::string out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + " " + quote(kSig1), &status);
  ASSERT_EQ(status, 0) << out;
  run_shell(fmt::format("ip -n {} link set hxb name hxr", b_));
  out = p0fbpf_in(b_, "xdp detach hxr" + bpffs_arg(), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(device_program(b_, "hxr"), 0);
  EXPECT_TRUE(pin_directories().empty()) << "pins left after detaching a renamed device";

  out = p0fbpf_in(b_, "xdp attach hxr" + bpffs_arg() + " " + quote(kSig1), &status);
  ASSERT_EQ(status, 0) << out;
  run_shell(fmt::format("ip -n {} link del hxa", a_));  // takes its peer hxr with it
  out = p0fbpf_in(b_, "xdp detach hxr" + bpffs_arg(), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_TRUE(pin_directories().empty()) << "pins left after the device went: " << out;
}

// One name in two namespaces, one bpffs: two sets of pins; detaching in
// one leaves the other's program and pins.
TEST_F(XdpPins, SameNameInTwoNamespaces) {
  int status = 0;
  std::string out = run_shell(
      fmt::format("ip link add hxd netns {0} type veth peer name hxd netns {1} && ip -n {0} link set hxd up && "
                  "ip -n {1} link set hxd up 2>&1",
                  a_, b_), &status);
  ASSERT_EQ(status, 0) << out;
  for (const std::string& ns : {a_, b_}) {
    out = p0fbpf_in(ns, "xdp attach hxd" + bpffs_arg() + " " + quote(kSig1), &status);
    ASSERT_EQ(status, 0) << out;
  }
  EXPECT_EQ(pin_directories().size(), 2u);
  out = p0fbpf_in(a_, "xdp detach hxd" + bpffs_arg(), &status);
  EXPECT_EQ(status, 0) << out;
  long program = device_program(b_, "hxd");
  EXPECT_GT(program, 0);
  std::vector<std::string> dirs = pin_directories();
  ASSERT_EQ(dirs.size(), 1u);
  expect_pins_name(dirs[0], program);
}

// detach with another --bpffs than the attach still removes the pins
// (found through the program), or fails and changes nothing.
TEST_F(XdpPins, DetachWithAnotherBpffs) {
  std::string other = ::testing::TempDir() + "p0fbpf_hx_bpffs2_" + std::to_string(getpid());
  mkdir(other.c_str(), 0700);
  bool mounted = mount("bpf", other.c_str(), "bpf", 0, nullptr) == 0;
  int status = 0;
  std::string out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + " " + quote(kSig1), &status);
  EXPECT_EQ(status, 0) << out;
  out = p0fbpf_in(b_, "xdp detach hxb --bpffs " + quote(other), &status);
  if (status == 0) {
    EXPECT_TRUE(pin_directories().empty()) << "detach said it detached, and the pins stay: " << out;
    EXPECT_EQ(device_program(b_, "hxb"), 0);
  } else {
    EXPECT_EQ(status, 2) << out;
    EXPECT_GT(device_program(b_, "hxb"), 0) << "failed, but detached: " << out;
  }
  if (mounted) umount(other.c_str());
  rmdir(other.c_str());
  ASSERT_TRUE(mounted);
}

// list tells attached from stale pins (a program removed by hand) and
// from foreign directories; prune removes only the stale ones.
TEST_F(XdpPins, ListAndPruneStalePins) {
  int status = 0;
  std::string out = run_shell(
      fmt::format("ip link add hxd netns {0} type veth peer name hxe netns {1} && ip -n {1} link set hxe up 2>&1",
                  a_, b_), &status);
  ASSERT_EQ(status, 0) << out;
  for (const char* device : {"hxb", "hxe"}) {
    out = p0fbpf_in(b_, fmt::format("xdp attach {}{} {}", device, bpffs_arg(), quote(kSig1)), &status);
    ASSERT_EQ(status, 0) << out;
  }
  run_shell(fmt::format("ip -n {} link set hxe xdp off", b_));
  ASSERT_EQ(device_program(b_, "hxe"), 0);
  run_shell(fmt::format("mkdir {}/p0fbpf/notours", quote(bpffs_)));
  std::string stale = fmt::format("{}/p0fbpf/{}_{}", bpffs_, netns_inode(b_), ifindex(b_, "hxe"));
  std::string kept = fmt::format("{}/p0fbpf/{}_{}", bpffs_, netns_inode(b_), ifindex(b_, "hxb"));
  out = p0fbpf_in(b_, "xdp list" + bpffs_arg(), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("stale            " + stale), std::string::npos) << out;
  EXPECT_NE(out.find("attached         " + kept), std::string::npos) << out;
  EXPECT_NE(out.find("foreign          " + bpffs_ + "/p0fbpf/notours"), std::string::npos) << out;
  out = p0fbpf_in(b_, "xdp prune" + bpffs_arg(), &status);
  EXPECT_EQ(status, 0) << out;
  std::vector<std::string> dirs = pin_directories();
  EXPECT_EQ(dirs, (std::vector<std::string>{kept, bpffs_ + "/p0fbpf/notours"})) << out;
  expect_pins_name(kept, device_program(b_, "hxb"));
}

// Re-attaching the same selection changes nothing; a new one keeps the
// counts of the signatures it keeps (and the frames seen).
TEST_F(XdpPins, ReattachKeepsCounters) {
  Result<Signature> sig1 = parse_signature(kSig1);
  ASSERT_TRUE(sig1.ok());
  std::string mac_text = json_text(run_shell(fmt::format("ip -n {} -j link show hxb", b_)), "address");
  std::array<std::uint8_t, 6> mac{};
  ASSERT_EQ(std::sscanf(mac_text.c_str(), "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
                        &mac[4], &mac[5]), 6) << mac_text;
  Random rng(20);
  std::vector<std::vector<std::uint8_t>> frames;
  for (int i = 0; i < 7; ++i) frames.push_back(frame_to(matching_packet(*sig1, false, false, rng), mac));

  int status = 0;
  std::string both = " --count-only " + quote(kSig1) + " " + quote(kSig2);
  std::string out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + both, &status);
  ASSERT_EQ(status, 0) << out;
  long program = device_program(b_, "hxb");
  EXPECT_EQ(in_namespace(a_, [&] { return inject(frames, "hxa"); }), "7");
  auto stats = [&] {
    std::string json = p0fbpf_in(b_, "xdp stats hxb --json", &status);
    EXPECT_EQ(status, 0) << json;
    return json;
  };
  auto matches = [](const std::string& json) { return testing::json_numbers(json, "matches"); };
  std::string before = stats();
  ASSERT_EQ(matches(before), (std::vector<long>{7, 0})) << before;
  long seen = json_number(before, "seen");
  EXPECT_GE(seen, 7);
  EXPECT_GE(json_number(before, "seconds_since_attach"), 0) << before;

  out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + both, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("nothing changed"), std::string::npos) << out;
  EXPECT_EQ(device_program(b_, "hxb"), program);
  EXPECT_EQ(matches(stats()), (std::vector<long>{7, 0}));

  out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + " --count-only " + quote(kSig3) + " " + quote(kSig1),
                  &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(device_program(b_, "hxb"), program);
  std::string after = stats();
  EXPECT_EQ(matches(after), (std::vector<long>{0, 7})) << after;
  EXPECT_GE(json_number(after, "seen"), seen) << after;
  std::vector<std::string> dirs = pin_directories();
  ASSERT_EQ(dirs.size(), 1u);
  expect_pins_name(dirs[0], device_program(b_, "hxb"));
}

// kill -9 at 30 points of a replacing attach: the device keeps p0fbpf's
// old program or has the new one, the pins in place are one attach's whole
// set (a program that was on the device, and its own maps; killed between
// the attach and the swap of the pins, the set of the attach before), the
// next attach puts everything right, and prune takes what the killed runs
// left.
TEST_F(XdpPins, KilledAttachLeavesOneWholeSetOfPins) {
  int status = 0;
  std::string out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + " " + quote(kSig1), &status);
  ASSERT_EQ(status, 0) << out;
  std::string dir = fmt::format("{}/p0fbpf/{}_{}", bpffs_, netns_inode(b_), ifindex(b_, "hxb"));
  std::uint64_t seed = 2020;
  fmt::print("seed {}\n", seed);
  Random rng(seed);
  std::set<long> ours = {device_program(b_, "hxb")};
  for (int round = 0; round < 30; ++round) {
    long before = device_program(b_, "hxb");
    int delay_us = static_cast<int>(rng() % 60000);
    const char* sig = round % 2 ? kSig1 : kSig2;
    run_shell(fmt::format("ip netns exec {} {} xdp attach hxb{} {} >/dev/null 2>&1 & p=$!; "
                          "sleep {}.{:06d}; kill -9 $p 2>/dev/null; wait $p",
                          b_, quote(P0FBPF_BINARY), bpffs_arg(), quote(sig), delay_us / 1000000, delay_us % 1000000));
    long after = device_program(b_, "hxb");
    ASSERT_GT(after, 0) << "round " << round << ": no program on the device";
    EXPECT_EQ(json_text(prog_json(dir + "/program"), "name"), "p0fbpf") << "round " << round;
    ours.insert(after);
    // Killed between the attach and the swap of the pins, a run leaves the
    // last whole set in place: a program that was on the device.
    long pinned = json_number(prog_json(dir + "/program"), "id");
    EXPECT_TRUE(ours.count(pinned)) << "round " << round << ": pins name program " << pinned
                                    << ", never on the device (it had " << before << " and has " << after << ")";
    expect_pins_name(dir, pinned);
    if (HasFailure()) break;
  }
  out = p0fbpf_in(b_, "xdp attach hxb" + bpffs_arg() + " " + quote(kSig3), &status);
  ASSERT_EQ(status, 0) << out;
  expect_pins_name(dir, device_program(b_, "hxb"));
  out = p0fbpf_in(b_, "xdp prune" + bpffs_arg(), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(pin_directories(), std::vector<std::string>{dir}) << out;
  out = p0fbpf_in(b_, "xdp detach hxb" + bpffs_arg(), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_TRUE(pin_directories().empty());
}

// stats counts the TCP SYNs apart from the other frames: the same packets
// as ACKs, RSTs and SYN+ACKs are seen, never counted as SYNs, never
// matched, and pass even with --negate.
TEST_F(XdpPins, StatsCountSynsApartFromOtherFrames) {
  Result<Signature> sig1 = parse_signature(kSig1);
  ASSERT_TRUE(sig1.ok());
  std::string mac_text = json_text(run_shell(fmt::format("ip -n {} -j link show hxb", b_)), "address");
  std::array<std::uint8_t, 6> mac{};
  ASSERT_EQ(std::sscanf(mac_text.c_str(), "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
                        &mac[4], &mac[5]), 6) << mac_text;
  Random rng(21);
  std::vector<std::vector<std::uint8_t>> syns, others;
  for (int i = 0; i < 9; ++i) {
    PacketSpec p = matching_packet(*sig1, false, false, rng);
    syns.push_back(frame_to(p, mac));
    p.flags = i % 3 == 0 ? 0x10 : i % 3 == 1 ? 0x04 : 0x12;  // ACK, RST, SYN+ACK
    others.push_back(frame_to(p, mac));
  }
  for (const char* negate : {"", " --negate"}) {
    int status = 0;
    std::string out = p0fbpf_in(b_, fmt::format("xdp attach hxb{}{} {}", bpffs_arg(), negate, quote(kSig1)), &status);
    ASSERT_EQ(status, 0) << out;
    std::string before = p0fbpf_in(b_, "xdp stats hxb --json", &status);
    long arrived_others = frames_arriving_in(others);
    long arrived_syns = frames_arriving_in(syns);
    std::string after = p0fbpf_in(b_, "xdp stats hxb --json", &status);
    ASSERT_EQ(status, 0) << after;
    EXPECT_EQ(json_number(after, "syns") - std::max(0L, json_number(before, "syns")), 9) << before << after;
    EXPECT_GE(json_number(after, "seen") - json_number(before, "seen"), 18) << before << after;
    EXPECT_EQ(arrived_others, 9) << "frames that are not SYNs were dropped" << negate;
    EXPECT_EQ(arrived_syns, *negate ? 9 : 0) << negate;
    out = p0fbpf_in(b_, "xdp detach hxb" + bpffs_arg(), &status);
    EXPECT_EQ(status, 0) << out;
  }
}

// An error of several lines is printed as several lines.
TEST_F(XdpPins, MultiLineErrorsKeepTheirNewlines) {
  int status = 0;
  std::string out = p0fbpf_in(b_, "xdp attach hxb --bpffs /tmp " + quote(kSig1), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("/tmp is not a BPF file system\n  help: mount -t bpf bpf /tmp"), std::string::npos) << out;
  EXPECT_EQ(out.find('?'), std::string::npos) << out;
}

}  // namespace
}  // namespace p0fbpf::testing
