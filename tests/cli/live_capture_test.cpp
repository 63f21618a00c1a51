// fingerprint, test and suggest -i: live capture on a veth in network
// namespaces of this process's own (p0lc-a-PID, p0lc-b-PID; root). SYNs
// come from hping3 in namespace a and from frames sent whole out of va
// (IPv6, VLAN-tagged, and SYN+ACKs and ACKs the kernel's filter must keep
// out); p0fbpf captures on vb in namespace b, beside tcpdump, and must
// count what fingerprint -r counts in tcpdump's file.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "cli_run.hpp"
#include "netns.hpp"
#include "stack_syns.hpp"
#include "tcpdump_capture.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kAddressA = "10.99.0.1";
constexpr const char* kAddressB = "10.99.0.2";
// linux_syn(64, 1460, 29200, 7) over IPv4, written out by hand.
constexpr const char* kLinuxSyn4 = "4:64:0:1460:29200,7:mss,sok,ts,nop,ws:df,id+:0";

std::string temp(const std::string& name) { return temp_file("p0lc_", name); }

// p0fbpf ARGS run in namespace `ns` in the background (ip netns exec execs
// it: the pid is p0fbpf's), its output to files.
class LiveRun {
 public:
  LiveRun(const std::string& ns, const std::vector<std::string>& args)
      : out_(temp("out" + std::to_string(++runs_))), err_(temp("err" + std::to_string(runs_))) {
    start_ = Clock::now();
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<std::string> argv = {"ip", "netns", "exec", ns, P0FBPF_BINARY};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> pointers;
      for (auto& a : argv) pointers.push_back(a.data());
      pointers.push_back(nullptr);
      if (!freopen(out_.c_str(), "w", stdout) || !freopen(err_.c_str(), "w", stderr)) _exit(126);
      execvp(pointers[0], pointers.data());
      _exit(127);
    }
    // The capture is live once p0fbpf says it listens, as tcpdump does (or
    // it failed): at most 20 s.
    for (int i = 0; i < 400; ++i) {
      std::string said = read_bytes(err_);
      if (said.find("listening on") != std::string::npos || said.find("error:") != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
  }
  ~LiveRun() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int number) { kill(pid_, number); }
  // Waits (at most 60 s) for the exit; the outcome and the time it ran.
  Outcome wait(double* seconds = nullptr) {
    Outcome outcome;
    int raw = 0;
    for (int i = 0; i < 600; ++i) {
      if (waitpid(pid_, &raw, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
    if (seconds) *seconds = std::chrono::duration<double>(Clock::now() - start_).count();
    if (pid_ == -1 && WIFEXITED(raw)) outcome.status = WEXITSTATUS(raw);
    outcome.out = read_bytes(out_);
    outcome.err = read_bytes(err_);
    return outcome;
  }

 private:
  static inline int runs_ = 0;
  std::string out_, err_;
  Clock::time_point start_;
  pid_t pid_ = -1;
};

// The sum of the counts of fingerprint's text output.
long counted(const std::string& table) {
  long sum = 0;
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);) sum += std::stol(line);
  return sum;
}

long json_number(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\": ");
  return at == std::string::npos ? -1 : std::stol(json.substr(at + key.size() + 4));
}

class LiveCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(geteuid() == 0, "needs root (network namespaces, live capture)");
    ns_ = std::make_unique<Namespaces>("p0lc");
    ns_->run(fmt::format("ip -n {} addr add {}/24 dev va", ns_->a(), kAddressA));
    ns_->run(fmt::format("ip -n {} addr add {}/24 dev vb", ns_->b(), kAddressB));
  }

  // `n` frames out of va: Linux-like SYNs over IPv4 (`ipv6`: IPv6),
  // VLAN-tagged if asked, each from its own port.
  long send(int n, bool ipv6 = false, bool vlan = false, std::uint8_t flags = 0x02, bool scanner = false) {
    std::vector<std::vector<std::uint8_t>> frames;
    for (int i = 0; i < n; ++i) {
      PacketSpec spec = scanner ? scanner_syn(64, 1024) : linux_syn(64, 1460, 29200, 7);
      spec.ipv6 = ipv6;
      spec.flags = flags;
      if (flags & 0x10) spec.ack = 77;
      spec.source_port = static_cast<std::uint16_t>(2000 + i);
      frames.push_back(frame_to(spec, ns_->mac_b(), vlan));
    }
    return std::stol(in_namespace(ns_->a(), [&] { return inject(frames); }));
  }

  std::unique_ptr<Namespaces> ns_;
};

TEST_F(LiveCapture, CountsWhatTcpdumpsFileGives) {
  P0FBPF_REQUIRE(std::system("command -v tcpdump > /dev/null && command -v hping3 > /dev/null") == 0,
                 "tcpdump and hping3 are needed (apt-get install tcpdump hping3)");
  std::string kept = temp("kept.pcap");
  TcpdumpCapture tcpdump(ns_->b(), temp("tcpdump.pcap"), "tcp or (vlan and tcp)", "in", true);
  LiveRun live(ns_->b(), {"fingerprint", "-i", "vb", "--seconds", "5", "-w", kept});
  int status = 0;
  std::string out = run_shell(
      fmt::format("ip netns exec {} hping3 -S -p 80 -c 40 -i u5000 {}", ns_->a(), kAddressB), &status);
  EXPECT_EQ(status, 0) << out;
  ASSERT_EQ(send(10, true), 10);
  ASSERT_EQ(send(5, false, true), 5);
  ASSERT_EQ(send(5, false, false, 0x12), 5);  // SYN+ACKs
  ASSERT_EQ(send(5, false, false, 0x10), 5);  // ACKs
  Outcome captured = live.wait();
  std::string file = tcpdump.stop();
  ASSERT_EQ(captured.status, 0) << captured.err;
  // hping3's 40, the 10 IPv6 and the 5 tagged SYNs.
  EXPECT_EQ(counted(captured.out), 55) << captured.out;
  EXPECT_NE(captured.err.find("55 packets captured"), std::string::npos) << captured.err;
  EXPECT_NE(captured.err.find("0 dropped by the kernel"), std::string::npos) << captured.err;
  Outcome from_file = run_p0fbpf({"fingerprint", "-r", file});
  ASSERT_EQ(from_file.status, 0) << from_file.err;
  EXPECT_EQ(captured.out, from_file.out);
  // -w kept what was captured.
  Outcome from_kept = run_p0fbpf({"fingerprint", "-r", kept});
  ASSERT_EQ(from_kept.status, 0) << from_kept.err;
  EXPECT_EQ(captured.out, from_kept.out);
  Outcome json = run_p0fbpf({"fingerprint", "-r", kept, "--json"});
  EXPECT_EQ(json_number(json.out, "packets"), 55) << json.out;
}

TEST_F(LiveCapture, ResponseCapturesSynAcks) {
  LiveRun live(ns_->b(), {"fingerprint", "-i", "vb", "--response", "--seconds", "2", "--json"});
  ASSERT_EQ(send(6), 6);
  ASSERT_EQ(send(3, false, false, 0x12), 3);
  ASSERT_EQ(send(2, true, false, 0x12), 2);
  Outcome captured = live.wait();
  ASSERT_EQ(captured.status, 0) << captured.err;
  EXPECT_EQ(json_number(captured.out, "packets"), 5) << captured.out;
  EXPECT_EQ(json_number(captured.out, "syn_acks"), 5) << captured.out;
  EXPECT_EQ(json_number(captured.out, "received"), 5) << captured.out;
}

// Until libpcap sets the filter, its socket takes every frame on the device
// and the kernel counts them all: the counts begin where the capture listens.
TEST_F(LiveCapture, ReceivedCountsOnlyWhatPassedTheFilter) {
  P0FBPF_REQUIRE(std::system("command -v ping > /dev/null") == 0, "ping is needed (apt-get install iputils-ping)");
  // Until after the capture has opened (it listens within a second).
  std::string flood = fmt::format("ip netns exec {} timeout 2 ping -q -f {} > /dev/null 2>&1 &", ns_->a(), kAddressB);
  ASSERT_EQ(std::system(flood.c_str()), 0);
  std::this_thread::sleep_for(300ms);  // the pings flow before the capture opens
  LiveRun live(ns_->b(), {"fingerprint", "-i", "vb", "--seconds", "1.5", "--json"});
  ASSERT_EQ(send(5), 5);
  Outcome captured = live.wait();
  ASSERT_EQ(captured.status, 0) << captured.err;
  EXPECT_EQ(json_number(captured.out, "packets"), 5) << captured.out;
  EXPECT_EQ(json_number(captured.out, "received"), 5) << captured.out;
}

TEST_F(LiveCapture, CountStopsAfterN) {
  LiveRun live(ns_->b(), {"fingerprint", "-i", "vb", "-c", "7", "--seconds", "30", "--json"});
  ASSERT_EQ(send(20), 20);
  double seconds = 0;
  Outcome captured = live.wait(&seconds);
  ASSERT_EQ(captured.status, 0) << captured.err;
  EXPECT_EQ(json_number(captured.out, "packets"), 7) << captured.out;
  EXPECT_EQ(json_number(captured.out, "syns"), 7) << captured.out;
  EXPECT_LT(seconds, 10) << "-c 7 did not end the capture";
}

TEST_F(LiveCapture, SecondsEndOnTimeWithoutTraffic) {
  LiveRun live(ns_->b(), {"fingerprint", "-i", "vb", "--seconds", "1.5"});
  double seconds = 0;
  Outcome captured = live.wait(&seconds);
  ASSERT_EQ(captured.status, 0) << captured.err;
  EXPECT_EQ(captured.out, "");
  EXPECT_NE(captured.err.find("0 packets captured"), std::string::npos) << captured.err;
  EXPECT_GE(seconds, 1.4);
  EXPECT_LT(seconds, 3.0);
}

TEST_F(LiveCapture, SigintPrintsWhatWasCaptured) {
  LiveRun live(ns_->b(), {"fingerprint", "-i", "vb"});
  ASSERT_EQ(send(12), 12);
  std::this_thread::sleep_for(500ms);
  live.signal(SIGINT);
  Outcome captured = live.wait();
  ASSERT_EQ(captured.status, 0) << captured.err;
  EXPECT_EQ(counted(captured.out), 12) << captured.out;
  EXPECT_NE(captured.err.find("12 packets captured"), std::string::npos) << captured.err;
}

TEST_F(LiveCapture, SigtermEndsTestWithItsCount) {
  std::string caught = temp("caught.pcap");
  LiveRun live(ns_->b(), {"test", "-i", "vb", "-w", caught, kLinuxSyn4});
  ASSERT_EQ(send(8), 8);
  ASSERT_EQ(send(4, true), 4);
  std::this_thread::sleep_for(500ms);
  live.signal(SIGTERM);
  Outcome tested = live.wait();
  ASSERT_EQ(tested.status, 0) << tested.err;
  EXPECT_EQ(tested.out, "8 of 12 packets matched\n");
  Outcome again = run_p0fbpf({"test", "-r", caught, kLinuxSyn4});
  EXPECT_EQ(again.out, "8 of 8 packets matched\n") << again.err;
}

TEST_F(LiveCapture, TinyBufferReportsDrops) {
  P0FBPF_REQUIRE(std::system("command -v hping3 > /dev/null") == 0, "hping3 is needed (apt-get install hping3)");
  // SYNs with 1,200 bytes of data fill a 1 KiB buffer's one block quickly.
  LiveRun live(ns_->b(), {"fingerprint", "-i", "vb", "--seconds", "4", "--buffer-size", "1", "--json"});
  run_shell(fmt::format("ip netns exec {} timeout 2 hping3 -S -p 80 -d 1200 --flood {}", ns_->a(), kAddressB));
  Outcome captured = live.wait();
  ASSERT_EQ(captured.status, 0) << captured.err;
  EXPECT_GT(json_number(captured.out, "dropped"), 0) << captured.out.substr(0, 300) << captured.err;
  EXPECT_GT(json_number(captured.out, "received"), json_number(captured.out, "packets"));
  EXPECT_NE(captured.err.find("the result is a sample"), std::string::npos) << captured.err;
}

TEST_F(LiveCapture, VanishedDeviceExitsTwoAfterTheResult) {
  LiveRun live(ns_->b(), {"fingerprint", "-i", "vb", "--seconds", "30"});
  ASSERT_EQ(send(6), 6);
  std::this_thread::sleep_for(500ms);
  ns_->run(fmt::format("ip -n {} link del vb", ns_->b()));
  double seconds = 0;
  Outcome captured = live.wait(&seconds);
  EXPECT_EQ(captured.status, 2) << captured.err;
  EXPECT_EQ(counted(captured.out), 6) << captured.out;
  EXPECT_NE(captured.err.find("failed after 6 packets"), std::string::npos) << captured.err;
  EXPECT_LT(seconds, 10);
}

TEST_F(LiveCapture, ConfigFileGivesTheLiveOptions) {
  std::string config = temp("live.toml");
  std::ofstream(config) << "interface = \"vb\"\ncount = 3\nseconds = 20\njson = true\n";
  LiveRun live(ns_->b(), {"fingerprint", "--config", config});
  ASSERT_EQ(send(5), 5);
  Outcome captured = live.wait();
  ASSERT_EQ(captured.status, 0) << captured.err;
  EXPECT_EQ(json_number(captured.out, "packets"), 3) << captured.out;
  EXPECT_NE(captured.out.find("\"device\": \"vb\""), std::string::npos) << captured.out;
}

TEST_F(LiveCapture, SuggestFromALiveAttack) {
  // The baseline: Linux SYNs, captured live and kept with -w.
  std::string baseline = temp("baseline.pcap");
  {
    LiveRun live(ns_->b(), {"fingerprint", "-i", "vb", "-c", "4", "--seconds", "20", "-w", baseline});
    ASSERT_EQ(send(4), 4);
    ASSERT_EQ(live.wait().status, 0);
  }
  LiveRun live(ns_->b(), {"suggest", "-i", "vb", "-c", "10", "--seconds", "20", "--baseline", baseline, "--json"});
  ASSERT_EQ(send(10, false, false, 0x02, true), 10);
  Outcome suggested = live.wait();
  ASSERT_EQ(suggested.status, 0) << suggested.err;
  EXPECT_EQ(json_number(suggested.out, "attack_syns"), 10) << suggested.out;
  EXPECT_EQ(json_number(suggested.out, "baseline_syns"), 4) << suggested.out;
  EXPECT_EQ(json_number(suggested.out, "covered"), 10) << suggested.out;
  EXPECT_EQ(json_number(suggested.out, "baseline_hit"), 0) << suggested.out;
  EXPECT_EQ(json_number(suggested.out, "received"), 10) << suggested.out;
}

// Bad input needs no namespace, but root for the unknown device (without
// it, libpcap may fail on the permission first).
TEST(LiveCaptureInput, UnknownDeviceExitsTwo) {
  P0FBPF_REQUIRE(geteuid() == 0, "needs root (live capture)");
  Outcome r = run_p0fbpf({"fingerprint", "-i", "p0lc-none0", "-c", "1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("cannot capture on p0lc-none0: no such device"), std::string::npos) << r.err;
}

TEST(LiveCaptureInput, WithoutRootExitsTwo) {
  P0FBPF_REQUIRE(geteuid() == 0, "needs root to drop it (setpriv)");
  P0FBPF_REQUIRE(std::system("command -v setpriv > /dev/null") == 0, "setpriv is needed (util-linux)");
  int status = 0;
  std::string out = run_shell(fmt::format("setpriv --reuid=65534 --regid=65534 --clear-groups {} fingerprint -i lo -c 1",
                                          P0FBPF_BINARY),
                              &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("cannot capture on lo: permission denied"), std::string::npos) << out;
  EXPECT_NE(out.find("root or the CAP_NET_RAW capability"), std::string::npos) << out;
}

TEST(LiveCaptureInput, OneSourceExactly) {
  Outcome both = run_p0fbpf({"fingerprint", "-r", "x.pcap", "-i", "lo"});
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.err.find("-r (a file) or -i (a live capture), not both"), std::string::npos) << both.err;
  Outcome neither = run_p0fbpf({"test", kLinuxSyn4});
  EXPECT_EQ(neither.status, 2);
  EXPECT_NE(neither.err.find("test needs a capture: -r FILE reads a file, -i DEVICE captures live"),
            std::string::npos)
      << neither.err;
  Outcome suggest = run_p0fbpf({"suggest", "-r", "x.pcap", "-i", "lo"});
  EXPECT_EQ(suggest.status, 2);
  EXPECT_NE(suggest.err.find("not both"), std::string::npos) << suggest.err;
  Outcome count = run_p0fbpf({"fingerprint", "-r", "x.pcap", "-c", "3"});
  EXPECT_EQ(count.status, 2);
  EXPECT_NE(count.err.find("-c applies to a live capture (-i DEVICE), not to -r"), std::string::npos) << count.err;
  Outcome kept = run_p0fbpf({"fingerprint", "-r", "x.pcap", "-w", "y.pcap"});
  EXPECT_EQ(kept.status, 2);
  EXPECT_NE(kept.err.find("-w applies to a live capture"), std::string::npos) << kept.err;
}

TEST(LiveCaptureInput, DeviceNamesAreCheckedAndNeverEchoedRaw) {
  for (std::string name : {"a/b", "x\x1b[31mred", "sixteen-chars-xx", ".."}) {
    Outcome r = run_p0fbpf({"fingerprint", "-i", name, "-c", "1"});
    EXPECT_EQ(r.status, 2) << name;
    EXPECT_NE(r.err.find("not a device name"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace p0fbpf::testing
