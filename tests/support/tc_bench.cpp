#include "tc_bench.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>

#include <cstring>
#include <sstream>

#include <fmt/format.h>
#include <re2/re2.h>

#include "test_env.hpp"

namespace p0fbpf::testing {

const char* name(Hook hook) { return hook == Hook::Ingress ? "ingress" : "egress"; }

TcBench::TcBench() {
  auto step = [&](const std::string& command) {
    int status = 0;
    std::string out = exec(command, &status);
    if (status != 0) {
      ok_ = false;
      ADD_FAILURE() << command << ": " << out;
    }
  };
  step("sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
  step(fmt::format("ip link set {} address {:02x}", kDevice, fmt::join(kMac, ":")));
  step(fmt::format("ip link add {} type veth peer name {}p && ip link set {} up && ip link set {}p up", kSink, kSink,
                   kSink, kSink));
  step(fmt::format("tc qdisc add dev {} clsact", kDevice));
}

std::string TcBench::exec(const std::string& command, int* status) {
  // ip netns exec mounts b's /sys for the command, as a script expects.
  std::string quoted = "'";
  for (char c : command) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  return run_shell(fmt::format("ip netns exec {} sh -c {}", ns_.b(), quoted), status);
}

std::string TcBench::must(const std::string& command) {
  int status = 0;
  std::string out = exec(command, &status);
  if (status != 0) ADD_FAILURE() << command << " (in " << ns_.b() << "): status " << status << ": " << out;
  return out;
}

int TcBench::add_filter(Hook hook, const std::string& device, const std::string& command) {
  auto before = counts_at(hook, device);
  must(command);
  for (const auto& [pref, count] : counts_at(hook, device)) {
    if (!before.count(pref)) return pref;
  }
  ADD_FAILURE() << "no new filter at " << name(hook) << " of " << device << " after " << command;
  return -1;
}

std::map<int, long> TcBench::counts_at(Hook hook, const std::string& device) {
  // tc -s filter show prints, per filter:
  //   filter protocol all pref 49152 bpf chain 0 handle 0x1 not_in_hw bytecode '...'
  //   	action order 1: mirred (Egress Mirror to device sink) continue
  //   	...
  //   	Sent 540 bytes 9 pkt (dropped 0, overlimits 0 requeues 0)
  std::string out = must(fmt::format("tc -s filter show dev {} {}", device, name(hook)));
  static const RE2 filter_line(R"(^filter .*\bpref (\d+) .*\bhandle )");
  static const RE2 sent_line(R"(^\s*Sent \d+ bytes (\d+) pkt)");
  std::map<int, long> counts;
  int pref = -1;
  bool counted = true;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    long sent = 0;
    if (RE2::PartialMatch(line, filter_line, &pref)) {
      counts[pref] = 0;
      counted = false;
    } else if (!counted && RE2::PartialMatch(line, sent_line, &sent)) {
      counts[pref] = sent;
      counted = true;
    }
  }
  return counts;
}

long TcBench::count_at(Hook hook, const std::string& device) {
  long total = 0;
  for (const auto& [pref, count] : counts_at(hook, device)) total += count;
  return total;
}

void TcBench::clear(Hook hook, const std::string& device) {
  int status = 0;
  std::string out = exec(fmt::format("tc filter del dev {} {}", device, name(hook)), &status);
  // Deleting where there is no filter fails on some versions of tc.
  if (status != 0 && !counts_at(hook, device).empty()) ADD_FAILURE() << "tc filter del: " << out;
}

long TcBench::sink_packets() {
  return std::atol(must(fmt::format("cat /sys/class/net/{}p/statistics/rx_packets", kSink)).c_str());
}

namespace {

// Waits until the counters of vb, tun0 (if any) and the sink stop moving
// (frames injected through veth are received in a softirq, a little later).
void settle(TcBench& bench) {
  std::string last;
  for (int i = 0; i < 40; ++i) {
    usleep(50000);
    std::string now = bench.exec(fmt::format("tc -s filter show dev {} ingress; tc -s filter show dev {} egress; "
                                             "cat /sys/class/net/{}p/statistics/rx_packets",
                                             TcBench::kDevice, TcBench::kDevice, TcBench::kSink));
    if (i >= 2 && now == last) return;
    last = now;
  }
}

}  // namespace

std::size_t TcBench::send(Hook hook, const std::vector<std::vector<std::uint8_t>>& frames) {
  std::string sent = hook == Hook::Ingress ? in_namespace(ns_.a(), [&] { return inject(frames, "va"); })
                                           : in_namespace(ns_.b(), [&] { return inject(frames, kDevice); });
  settle(*this);
  return std::strtoul(sent.c_str(), nullptr, 10);
}

void TcBench::add_tun() {
  must(fmt::format("ip tuntap add mode tun name {} && ip link set {} up && tc qdisc add dev {} clsact", kTun, kTun,
                   kTun));
}

std::size_t TcBench::send_ip(Hook hook, const std::vector<std::vector<std::uint8_t>>& packets) {
  std::string sent = in_namespace(ns_.b(), [&]() -> std::string {
    // Attaching to the persistent device brings its carrier up.
    int tun = open("/dev/net/tun", O_RDWR);
    ifreq request{};
    std::strncpy(request.ifr_name, kTun, IFNAMSIZ - 1);
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    if (tun < 0 || ioctl(tun, TUNSETIFF, &request) != 0) return "tun attach failed";
    std::size_t count = 0;
    if (hook == Hook::Ingress) {
      for (const auto& p : packets) count += write(tun, p.data(), p.size()) == static_cast<ssize_t>(p.size());
    } else {
      int fd = socket(AF_PACKET, SOCK_DGRAM, 0);
      if (fd < 0) return "no packet socket";
      for (const auto& p : packets) {
        sockaddr_ll to{};
        to.sll_family = AF_PACKET;
        to.sll_ifindex = static_cast<int>(if_nametoindex(kTun));
        to.sll_protocol = htons(!p.empty() && (p[0] >> 4) == 6 ? 0x86dd : 0x0800);
        count += sendto(fd, p.data(), p.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
                 static_cast<ssize_t>(p.size());
      }
      close(fd);
    }
    usleep(100000);
    close(tun);
    return std::to_string(count);
  });
  settle(*this);
  return std::strtoul(sent.c_str(), nullptr, 10);
}

}  // namespace p0fbpf::testing
