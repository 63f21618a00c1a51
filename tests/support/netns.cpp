#include "netns.hpp"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "test_env.hpp"

namespace p0fbpf::testing {

Namespaces::Namespaces(const std::string& prefix) {
  std::string id = std::to_string(getpid());
  a_ = prefix + "-a-" + id;
  b_ = prefix + "-b-" + id;
  run("ip netns add " + a_);
  run("ip netns add " + b_);
  run("ip link add va netns " + a_ + " type veth peer name vb netns " + b_);
  run("ip -n " + a_ + " link set va up");
  run("ip -n " + b_ + " link set vb up");
  run("ip -n " + b_ + " link set lo up");
  mac_b_ = run_shell("ip netns exec " + b_ + " cat /sys/class/net/vb/address");
  mac_b_.erase(mac_b_.find_last_not_of(" \n") + 1);
}

Namespaces::~Namespaces() {
  run_shell("ip netns del " + a_);
  run_shell("ip netns del " + b_);
}

void Namespaces::run(const std::string& command) {
  int status = 0;
  std::string out = run_shell(command, &status);
  if (status != 0) ADD_FAILURE() << command << ": " << out;
}

std::array<std::uint8_t, 6> Namespaces::mac_b() const {
  std::array<std::uint8_t, 6> mac{};
  unsigned v[6];
  if (std::sscanf(mac_b_.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) == 6) {
    for (int i = 0; i < 6; ++i) mac[i] = static_cast<std::uint8_t>(v[i]);
  }
  return mac;
}

std::string inject(const std::vector<std::vector<std::uint8_t>>& frames, const std::string& device) {
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) return "no packet socket";
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_ifindex = static_cast<int>(if_nametoindex(device.c_str()));
  to.sll_halen = 6;
  std::size_t sent = 0;
  for (const auto& f : frames) {
    sent += sendto(fd, f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == static_cast<ssize_t>(f.size());
  }
  close(fd);
  return std::to_string(sent);
}

long frames_arriving(const Namespaces& ns, const std::vector<std::vector<std::uint8_t>>& frames) {
  return frames_arriving_between(ns.a(), "va", ns.b(), "vb", frames);
}

long frames_arriving_between(const std::string& ns_a, const std::string& device_a, const std::string& ns_b,
                             const std::string& device_b, const std::vector<std::vector<std::uint8_t>>& frames) {
  std::set<std::vector<std::uint8_t>> sent(frames.begin(), frames.end());
  int ready[2], result[2];
  if (pipe(ready) != 0 || pipe(result) != 0) return -1;
  pid_t listener = fork();
  if (listener == 0) {
    std::string count = in_namespace(ns_b, [&]() -> std::string {
      int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
      sockaddr_ll at{};
      at.sll_family = AF_PACKET;
      at.sll_protocol = htons(ETH_P_ALL);
      at.sll_ifindex = static_cast<int>(if_nametoindex(device_b.c_str()));
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) return "-1";
      if (write(ready[1], "r", 1) != 1) return "-1";
      long arrived = 0;
      std::vector<std::uint8_t> buffer(65536);
      pollfd p{fd, POLLIN, 0};
      while (poll(&p, 1, 500) > 0) {
        ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
        if (n > 0 && sent.count({buffer.begin(), buffer.begin() + n})) ++arrived;
      }
      return std::to_string(arrived);
    });
    if (write(result[1], count.data(), count.size()) < 0) _exit(1);
    _exit(0);
  }
  close(ready[1]);
  close(result[1]);
  char byte;
  bool listening = read(ready[0], &byte, 1) == 1;
  close(ready[0]);
  if (listening) in_namespace(ns_a, [&] { return inject(frames, device_a); });
  std::string count;
  char buffer[64];
  ssize_t n;
  while ((n = read(result[0], buffer, sizeof buffer)) > 0) count.append(buffer, static_cast<std::size_t>(n));
  close(result[0]);
  waitpid(listener, nullptr, 0);
  return listening && !count.empty() ? std::stol(count) : -1;
}

std::vector<long> bpf_rule_counters(const std::string& ns, const std::string& tool, const std::string& table,
                                    const std::string& chain) {
  std::istringstream lines(run_shell("ip netns exec " + ns + " " + tool + " -t " + table + " -L " + chain + " -v -x -n"));
  std::vector<long> counts;
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    long packets;
    if ((words >> packets) && line.find("bpf") != std::string::npos) counts.push_back(packets);
  }
  return counts;
}

std::vector<std::uint8_t> frame_to(const PacketSpec& spec, const std::array<std::uint8_t, 6>& mac, bool vlan_tag) {
  auto frame = ethernet_frame(build_packet(spec), spec.ipv6, vlan_tag);
  std::copy(mac.begin(), mac.end(), frame.begin());
  return frame;
}

}  // namespace p0fbpf::testing
