// Never lock a host out: on the hooks that see every frame, XDP and tc, a
// program that p0fbpf makes decides only about TCP SYNs, whatever --negate
// and --loose say. In two network namespaces joined by a veth pair, ARP,
// neighbour discovery, ICMP, UDP, established TCP and fragments sent to vb
// must all arrive through p0fbpf's XDP program, and a tc filter must not
// count them; the SYNs are decided as p0f decides them.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include <fmt/format.h>

#include "bpffs.hpp"
#include "cli_run.hpp"
#include "gate_packets.hpp"
#include "netns.hpp"
#include "p0f_oracle.hpp"
#include "tc_bench.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

std::string quote(const std::string& arg) { return shell_quote(arg); }

// The frames every test sends: what is not a SYN first, then the SYN the
// signature matches and the one it does not, each over IPv4 and IPv6.
struct Traffic {
  std::vector<std::vector<std::uint8_t>> not_syns, matching, other;
  std::vector<std::vector<std::uint8_t>> all() const {
    std::vector<std::vector<std::uint8_t>> out = not_syns;
    out.insert(out.end(), matching.begin(), matching.end());
    out.insert(out.end(), other.begin(), other.end());
    return out;
  }
};

Traffic traffic_to(const std::array<std::uint8_t, 6>& mac) {
  Traffic t;
  std::vector<std::uint8_t> arp = arp_request();
  std::copy(mac.begin(), mac.end(), arp.begin());  // to vb itself: a reply's shape
  t.not_syns = {arp_request(), arp};
  for (bool v6 : {false, true}) {
    for (const NamedPacket& k : not_syns(v6)) t.not_syns.push_back(frame_to(k.packet, mac));
    t.matching.push_back(frame_to(linux_syn(v6), mac));
    t.other.push_back(frame_to(other_syn(v6), mac));
  }
  return t;
}

class Lockout : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(geteuid() == 0, "needs root for network namespaces, XDP and tc");
    int status = 0;
    run_shell("command -v ip && command -v tc", &status);
    P0FBPF_REQUIRE(status == 0, "ip or tc (iproute2) missing");
    // p0f itself says which SYN the signature matches.
    auto p0f = find_p0f();
    P0FBPF_REQUIRE(p0f.has_value(), "p0f is not installed (apt-get install p0f)");
    std::vector<PacketSpec> syns = {linux_syn(false), other_syn(false), linux_syn(true), other_syn(true)};
    for (std::size_t i = 0; i < syns.size(); ++i) assign_flow(syns[i], i, false);
    auto verdicts = run_p0f(*p0f, syns, kGateSignature, false);
    ASSERT_EQ(verdicts.size(), 4u);
    ASSERT_TRUE(verdicts[0].matched && verdicts[2].matched) << "p0f no longer matches the test's SYN";
    ASSERT_FALSE(verdicts[1].matched || verdicts[3].matched) << "p0f matches the test's other SYN";
  }
};

class XdpLockout : public Lockout {
 protected:
  void SetUp() override {
    Lockout::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // Outside /sys, which ip netns exec remounts.
    bpffs_mount_ = std::make_unique<Bpffs>("lockout");
    bpffs_ = bpffs_mount_->path();
    P0FBPF_REQUIRE(bpffs_mount_->mounted(), "cannot mount a BPF file system at " + bpffs_);
  }
  void TearDown() override {
    bpffs_mount_.reset();
  }

  // p0fbpf xdp attach vb ARGS in namespace b; a failure is a test failure.
  void attach(const Namespaces& ns, const std::string& args) {
    int status = 0;
    std::string out = run_shell(fmt::format("ip netns exec {} {} xdp attach vb --bpffs {} {}", ns.b(),
                                            quote(P0FBPF_BINARY), quote(bpffs_), args),
                                &status);
    ASSERT_EQ(status, 0) << out;
  }
  void detach(const Namespaces& ns) {
    run_shell(fmt::format("ip netns exec {} {} xdp detach vb --bpffs {}", ns.b(), quote(P0FBPF_BINARY),
                          quote(bpffs_)));
  }

  std::string bpffs_;
  std::unique_ptr<Bpffs> bpffs_mount_;
};

// An allowlist at XDP: only the signature's SYNs may open connections.
// Every other SYN is dropped; everything that is not a SYN arrives.
TEST_F(XdpLockout, NegatedProgramDropsOnlyOtherSyns) {
  Namespaces ns;
  Traffic t = traffic_to(ns.mac_b());
  for (const char* mode : {"native", "generic"}) {
    SCOPED_TRACE(mode);
    attach(ns, fmt::format("--mode {} --negate {}", mode, quote(kGateSignature)));
    EXPECT_EQ(frames_arriving(ns, t.not_syns), static_cast<long>(t.not_syns.size()))
        << "ARP, ND, ICMP, UDP, established TCP or fragments were dropped";
    EXPECT_EQ(frames_arriving(ns, t.matching), static_cast<long>(t.matching.size()));
    EXPECT_EQ(frames_arriving(ns, t.other), 0);
    detach(ns);
  }
}

// The same with --loose, which names no TCP flags: an established
// connection's packets with a SYN's options are still no SYN.
TEST_F(XdpLockout, LooseProgramDropsOnlySyns) {
  Namespaces ns;
  Traffic t = traffic_to(ns.mac_b());
  attach(ns, fmt::format("--loose {}", quote(kGateSignature)));
  EXPECT_EQ(frames_arriving(ns, t.not_syns), static_cast<long>(t.not_syns.size()));
  EXPECT_EQ(frames_arriving(ns, t.matching), 0);
  EXPECT_EQ(frames_arriving(ns, t.other), static_cast<long>(t.other.size()));
  detach(ns);
}

// tc, where act_gact is missing here: the filter mirrors what it matches to
// the bench's sink, and its counter says how many frames that was.
TEST_F(Lockout, TcFilterWithNegateMatchesOnlyOtherSyns) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  Traffic t = traffic_to(TcBench::kMac);
  // --link ether implies the gate; --hook tc says where the program runs.
  for (const char* options : {"--link ether --negate", "--hook tc --link ether --negate",
                              "--hook tc --link ether --negate --loose"}) {
    SCOPED_TRACE(options);
    for (Hook hook : {Hook::Ingress, Hook::Egress}) {
      SCOPED_TRACE(name(hook));
      bench.add_filter(hook, TcBench::kDevice,
                       fmt::format("tc filter add dev {} {} bpf bytecode \"$({} {} {})\" action mirred egress "
                                   "mirror dev {} continue",
                                   TcBench::kDevice, name(hook), quote(P0FBPF_BINARY), options,
                                   quote(kGateSignature), TcBench::kSink));
      std::vector<std::vector<std::uint8_t>> sent = t.all();
      ASSERT_EQ(bench.send(hook, sent), sent.size());
      EXPECT_EQ(bench.count_at(hook), static_cast<long>(t.other.size()))
          << "the filter matched frames that are not SYNs, or the signature's own";
      bench.clear(hook);
    }
  }
}

// On an L3 device (tun), a tc program reads the IP header: --hook tc gives
// the raw program its gate too.
TEST_F(Lockout, TcFilterOnAnL3DeviceWithNegateMatchesOnlyOtherSyns) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  bench.add_tun();
  ASSERT_FALSE(HasFatalFailure());
  std::vector<std::vector<std::uint8_t>> not_syn_packets, other;
  for (bool v6 : {false, true}) {
    for (const NamedPacket& k : not_syns(v6)) not_syn_packets.push_back(build_packet(k.packet));
    other.push_back(build_packet(other_syn(v6)));
  }
  bench.add_filter(Hook::Ingress, TcBench::kTun,
                   fmt::format("tc filter add dev {} ingress bpf bytecode \"$({} --hook tc --negate {})\" action "
                               "mirred egress mirror dev {} continue",
                               TcBench::kTun, quote(P0FBPF_BINARY), quote(kGateSignature), TcBench::kSink));
  ASSERT_EQ(bench.send_ip(Hook::Ingress, not_syn_packets), not_syn_packets.size());
  EXPECT_EQ(bench.count_at(Hook::Ingress, TcBench::kTun), 0) << "the filter matched packets that are not SYNs";
  ASSERT_EQ(bench.send_ip(Hook::Ingress, other), other.size());
  EXPECT_EQ(bench.count_at(Hook::Ingress, TcBench::kTun), static_cast<long>(other.size()));
}

}  // namespace
}  // namespace p0fbpf::testing
