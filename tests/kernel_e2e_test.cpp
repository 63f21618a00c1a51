// End to end in the kernel: two network namespaces joined by a veth pair.
// Frames built around p0f.fp signatures are injected on one side through an
// AF_PACKET socket (so the kernel rewrites no header field); on the other,
// one iptables/ip6tables rule per signature counts what its program matches.
// Each counter must equal the number of those frames p0f strictly matches.
// Then the same with programs built for --link ether on a packet socket.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "netns.hpp"
#include "p0f_database.hpp"
#include "p0f_oracle.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/emit.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

// Request signatures of p0f.fp: its 4: ones, some * ones, and 6: ones made
// from * ones (without the IPv4-only quirks).
std::vector<std::string> chosen_signatures() {
  std::vector<std::string> all;
  for (const auto& s : tcp_signatures("/etc/p0f/p0f.fp")) {
    if (!s.response) all.push_back(s.text);
  }
  std::vector<std::string> out;
  for (const auto& s : all) {
    if (s[0] == '4' && out.size() < 8) out.push_back(s);
  }
  for (std::size_t i = 0; i < all.size() && out.size() < 18; i += 11) {
    if (all[i][0] == '*') out.push_back(all[i]);
  }
  for (std::size_t i = 5; i < all.size() && out.size() < 26; i += 13) {
    if (all[i][0] == '*') out.push_back(signature_for_version(all[i], true));
  }
  return out;
}

class KernelEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(geteuid() == 0, "needs root for network namespaces and iptables");
    int status = 0;
    run_shell("command -v ip && command -v iptables && command -v ip6tables", &status);
    P0FBPF_REQUIRE(status == 0, "ip, iptables or ip6tables missing");
    auto p0f = find_p0f();
    P0FBPF_REQUIRE(p0f.has_value(), "p0f is not installed (apt-get install p0f)");
    p0f_ = *p0f;
    P0FBPF_REQUIRE(std::ifstream("/etc/p0f/p0f.fp").good(), "/etc/p0f/p0f.fp missing");
  }
  std::string p0f_;
};

TEST_F(KernelEndToEnd, IptablesCountersEqualP0fsStrictMatches) {
  Namespaces ns;
  std::vector<std::string> sigs = chosen_signatures();
  ASSERT_GE(sigs.size(), 20u);
  std::uint64_t seed = std::random_device{}();
  fmt::print("seed {}\n", seed);
  Random rng(seed);
  std::vector<PacketSpec> packets;
  for (const auto& sig : sigs) {
    Result<Signature> parsed = parse_signature(sig);
    ASSERT_TRUE(parsed.ok()) << sig;
    std::vector<bool> versions;
    if (parsed->version != IpVersion::V6) versions.push_back(false);
    if (parsed->version != IpVersion::V4) versions.push_back(true);
    for (bool v6 : versions) {
      for (int i = 0; i < 12; ++i) {
        PacketSpec p = matching_packet(*parsed, v6, false, rng);
        if (i >= 3) p = mutate(p, rng);
        packets.push_back(p);
      }
    }
  }
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    PacketSpec spec = packets[i];
    assign_flow(spec, i, false);
    frames.push_back(frame_to(spec, ns.mac_b()));
  }

  // One counting rule per signature, in the order of `sigs`.
  std::vector<bool> in_v4, in_v6;
  for (const auto& sig : sigs) {
    in_v4.push_back(sig[0] != '6');
    in_v6.push_back(sig[0] != '4');
    for (const char* tool : {"iptables", "ip6tables"}) {
      if ((tool[2] == '6') ? !in_v6.back() : !in_v4.back()) continue;
      // A * signature as p0fbpf compiles it for one rule: the same program
      // (one branch for both versions where it must fit 64) in both tables.
      std::string family = sig[0] == '*' ? sig : signature_for_version(sig, tool[2] == '6');
      ns.run(fmt::format("ip netns exec {} {} -t raw -A PREROUTING -i vb -m bpf --bytecode \"$({} '{}')\"", ns.b(),
                         tool, P0FBPF_BINARY, family));
    }
  }
  EXPECT_EQ(in_namespace(ns.a(), [&] { return inject(frames); }), std::to_string(frames.size()));
  usleep(300000);
  std::vector<long> v4 = bpf_rule_counters(ns.b(), "iptables", "raw", "PREROUTING");
  std::vector<long> v6 = bpf_rule_counters(ns.b(), "ip6tables", "raw", "PREROUTING");

  std::size_t i4 = 0, i6 = 0, total_matches = 0;
  for (std::size_t s = 0; s < sigs.size(); ++s) {
    auto verdicts = run_p0f(p0f_, packets, sigs[s], false);
    long expected = 0;
    for (std::size_t i = 0; i < packets.size(); ++i) {
      bool other_version = (sigs[s][0] == '4' && packets[i].ipv6) || (sigs[s][0] == '6' && !packets[i].ipv6);
      expected += verdicts[i].matched && !other_version;
    }
    long counted = 0;
    if (in_v4[s]) counted += i4 < v4.size() ? v4[i4++] : -1000;
    if (in_v6[s]) counted += i6 < v6.size() ? v6[i6++] : -1000;
    EXPECT_EQ(counted, expected) << sigs[s];
    total_matches += static_cast<std::size_t>(expected);
  }
  fmt::print("{} signatures, {} frames injected, {} strict p0f matches counted by iptables/ip6tables\n", sigs.size(),
             frames.size(), total_matches);
  EXPECT_GT(total_matches, sigs.size());
}

TEST_F(KernelEndToEnd, EtherProgramsFilterAPacketSocket) {
  Namespaces ns;
  const std::string sig = "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  Result<Signature> parsed = parse_signature(sig);
  Random rng(std::random_device{}());
  std::vector<PacketSpec> packets;
  for (int i = 0; i < 60; ++i) {
    PacketSpec p = matching_packet(*parsed, i % 2 == 1, false, rng);
    if (i % 3 != 0) p = mutate(p, rng);
    packets.push_back(p);
  }
  auto verdicts = run_p0f(p0f_, packets, sig, false);
  long expected = 0;
  for (const auto& v : verdicts) expected += v.matched;
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    PacketSpec spec = packets[i];
    assign_flow(spec, i, false);
    frames.push_back(frame_to(spec, ns.mac_b()));
  }
  CompileOptions options;
  options.verify_each_pass = true;
  options.link.type = LinkType::Ethernet;
  Compilation c = compile({{sig, ""}}, options);
  ASSERT_TRUE(c.ok());

  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  std::string received;
  pid_t listener = fork();
  if (listener == 0) {
    std::string result = in_namespace(ns.b(), [&]() -> std::string {
      // Protocol 0: the socket receives nothing until bind names one, by
      // when the filter is attached. Opened with ETH_P_ALL it would queue,
      // unfiltered, what the namespace's devices send as they come up
      // (an MLDv2 report was caught so, 1 run in about 40).
      int fd = socket(AF_PACKET, SOCK_RAW, 0);
      std::vector<sock_filter> code;
      for (const bpf_insn& i : c.program->instructions) code.push_back({i.code, i.jt, i.jf, i.k});
      sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
      sockaddr_ll at{};
      at.sll_family = AF_PACKET;
      at.sll_protocol = htons(ETH_P_ALL);
      at.sll_ifindex = static_cast<int>(if_nametoindex("vb"));
      if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0 ||
          bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) != 0) {
        return "socket setup failed";
      }
      if (write(ready[1], "r", 1) != 1) return "ready failed";
      long count = 0;
      std::uint8_t buffer[2048];
      pollfd p{fd, POLLIN, 0};
      while (poll(&p, 1, 500) > 0) {
        if (recv(fd, buffer, sizeof buffer, 0) > 0) ++count;
      }
      return std::to_string(count);
    });
    std::ofstream(::testing::TempDir() + "p0fbpf_e2e_" + std::to_string(getpid())) << result;
    _exit(0);
  }
  char byte;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  EXPECT_EQ(in_namespace(ns.a(), [&] { return inject(frames); }), std::to_string(frames.size()));
  waitpid(listener, nullptr, 0);
  std::string result_file = ::testing::TempDir() + "p0fbpf_e2e_" + std::to_string(listener);
  std::ifstream(result_file) >> received;
  std::remove(result_file.c_str());
  EXPECT_EQ(received, std::to_string(expected)) << "of " << frames.size() << " frames";
  EXPECT_GT(expected, 5);
}

}  // namespace
}  // namespace p0fbpf::testing
