// tc's cls_bpf in the kernel: filters installed as users would install them,
//
//   tc filter add dev DEV ingress bpf bytecode "$(p0fbpf --link ether --max-insns 4096 SIG)" ...
//
// at the ingress and egress hooks of a veth device in a network namespace
// (tests/support/tc_bench.hpp), count what they match of frames built around
// p0f.fp signatures (matching ones and near misses); each count must equal
// the number of those frames p0f 3.09b strictly matches.
//
// What cls_bpf hands a classic program on an Ethernet device, measured here
// (TaggedFramesReachIngressUntagged keeps measuring it):
// - the Ethernet frame, at ingress too (cls_bpf pushes the MAC header back
//   before running it): programs must be built with --link ether; the
//   default (raw IP) program matches nothing there (RawProgramsMatchNothingOnEthernet);
// - at egress, an 802.1Q tag sent in the frame is still in it: the ether
//   program reads the IP header behind it;
// - at ingress, the tag is no longer in the frame: __netif_receive_skb_core
//   moves it into the skb's metadata (skb_vlan_untag) before the ingress hook,
//   whatever the device's offloads, so the program sees the frame as
//   untagged (its VLAN id is only in the ancillary field vlan_tci). The ether
//   program matches tagged frames there as untagged ones, and one filter on
//   the parent device sees every VLAN's traffic. (A filter on a VLAN device
//   itself could not be tried: this kernel is built without 8021q.)
// On an L3 device (tun), tc sees the packet from its IP header on: the
// default raw program is the one that matches there (RawProgramsOnTun).
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include <fmt/format.h>

#include "p0f_database.hpp"
#include "p0f_oracle.hpp"
#include "p0fbpf/parser.hpp"
#include "p0fbpf/tc_script.hpp"
#include "signature_packets.hpp"
#include "tc_bench.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

// Request signatures of p0f.fp: its first 4: one, two * ones of different
// shapes, and a 6: one made from a third * one (p0f.fp has no 6: signature).
std::vector<std::string> chosen_signatures() {
  std::vector<std::string> stars;
  std::string v4;
  for (const auto& s : tcp_signatures("/etc/p0f/p0f.fp")) {
    if (s.response) continue;
    if (s.text[0] == '*') stars.push_back(s.text);
    if (s.text[0] == '4' && v4.empty()) v4 = s.text;
  }
  if (v4.empty() || stars.size() < 3) return {};
  return {v4, stars[0], stars[stars.size() / 2], signature_for_version(stars[stars.size() / 3], true)};
}

// The filter users add, with p0fbpf at its build path; `link_options` is
// "--link ether --max-insns 4096" or "" (the default raw program). A match
// is mirrored to the sink and classification continues, so that every
// filter of the hook counts what it matches.
std::string filter_command(const std::string& device, Hook hook, const std::string& link_options,
                           const std::vector<std::string>& sigs) {
  std::string quoted;
  for (const auto& sig : sigs) quoted += fmt::format(" '{}'", sig);
  return fmt::format("tc filter add dev {} {} bpf bytecode \"$({} {}{})\" action mirred egress mirror dev {} continue",
                     device, name(hook), P0FBPF_BINARY, link_options.empty() ? "" : " " + link_options, quoted,
                     TcBench::kSink);
}

std::string filter_command(const std::string& device, Hook hook, const std::string& link_options,
                           const std::string& sig) {
  return filter_command(device, hook, link_options, std::vector<std::string>{sig});
}

class Tc : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(geteuid() == 0, "needs root for network namespaces and tc");
    int status = 0;
    run_shell("command -v ip && command -v tc", &status);
    P0FBPF_REQUIRE(status == 0, "ip or tc missing");
    auto p0f = find_p0f();
    P0FBPF_REQUIRE(p0f.has_value(), "p0f is not installed (apt-get install p0f)");
    p0f_ = *p0f;
    P0FBPF_REQUIRE(std::ifstream("/etc/p0f/p0f.fp").good(), "/etc/p0f/p0f.fp missing");
    sigs_ = chosen_signatures();
    ASSERT_EQ(sigs_.size(), 4u);

    std::uint64_t seed = std::random_device{}();
    fmt::print("seed {}\n", seed);
    Random rng(seed);
    for (const auto& sig : sigs_) {
      Result<Signature> parsed = parse_signature(sig);
      ASSERT_TRUE(parsed.ok()) << sig;
      for (bool v6 : {false, true}) {
        if (parsed->version == (v6 ? IpVersion::V4 : IpVersion::V6)) continue;
        for (int i = 0; i < 10; ++i) {
          PacketSpec p = matching_packet(*parsed, v6, false, rng);
          if (i >= 3) p = mutate(p, rng);
          packets_.push_back(p);
        }
      }
    }
    for (std::size_t i = 0; i < packets_.size(); ++i) assign_flow(packets_[i], i, false);
    // p0f's verdicts: a packet of the other IP version never matches a 4:
    // or 6: signature.
    std::size_t total = 0;
    for (const auto& sig : sigs_) {
      auto verdicts = run_p0f(p0f_, packets_, sig, false);
      ASSERT_EQ(verdicts.size(), packets_.size());
      long expected = 0;
      matched_.emplace_back();
      for (std::size_t i = 0; i < packets_.size(); ++i) {
        bool other_version = (sig[0] == '4' && packets_[i].ipv6) || (sig[0] == '6' && !packets_[i].ipv6);
        matched_.back().push_back(verdicts[i].matched && !other_version);
        expected += matched_.back().back();
      }
      expected_.push_back(expected);
      total += static_cast<std::size_t>(expected);
    }
    // Enough matches and enough misses for the counts to tell.
    ASSERT_GT(total, sigs_.size() * 2);
  }

  std::vector<std::vector<std::uint8_t>> frames(bool vlan_tag) const {
    std::vector<std::vector<std::uint8_t>> out;
    for (const auto& p : packets_) out.push_back(frame_to(p, TcBench::kMac, vlan_tag));
    return out;
  }

  // The packets that at least one of the signatures strictly matches: what
  // one filter for all of them counts.
  long matched_by_any() const {
    long count = 0;
    for (std::size_t i = 0; i < packets_.size(); ++i) {
      bool any = false;
      for (const auto& m : matched_) any = any || m[i];
      count += any;
    }
    return count;
  }

  long total_expected() const {
    long total = 0;
    for (long e : expected_) total += e;
    return total;
  }

  std::string p0f_;
  std::vector<std::string> sigs_;
  std::vector<PacketSpec> packets_;
  std::vector<std::vector<bool>> matched_;  // [signature][packet]: p0f matches it strictly
  std::vector<long> expected_;  // p0f's strict matches among packets_, per signature
};

TEST_F(Tc, EtherProgramsCountP0fsStrictMatchesAtIngressAndEgress) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  for (Hook hook : {Hook::Ingress, Hook::Egress}) {
    for (bool tagged : {false, true}) {
      SCOPED_TRACE(fmt::format("{}, {}", name(hook), tagged ? "802.1Q-tagged frames" : "untagged frames"));
      bench.clear(hook);
      std::vector<int> prefs;
      for (const auto& sig : sigs_) {
        prefs.push_back(bench.add_filter(
            hook, TcBench::kDevice,
            filter_command(TcBench::kDevice, hook, "--link ether --max-insns 4096", sig)));
      }
      long sink_before = bench.sink_packets();
      auto sent = frames(tagged);
      ASSERT_EQ(bench.send(hook, sent), sent.size());
      auto counts = bench.counts_at(hook);
      std::vector<long> got;
      for (std::size_t s = 0; s < sigs_.size(); ++s) {
        got.push_back(counts.count(prefs[s]) ? counts[prefs[s]] : -1);
        EXPECT_EQ(got.back(), expected_[s]) << sigs_[s];
      }
      // Every match was mirrored: the frames reached the sink.
      EXPECT_EQ(bench.sink_packets() - sink_before, total_expected());
      fmt::print("{} {}: {} frames, counts {} (p0f: {})\n", name(hook), tagged ? "tagged" : "untagged", sent.size(),
                 fmt::join(got, " "), fmt::join(expected_, " "));
    }
  }
}

// One filter for all the signatures (one program matching any of them),
// over untagged and tagged frames: it counts the frames at least one of them
// matches.
TEST_F(Tc, OneEtherProgramForAllSignatures) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  auto sent = frames(false);
  auto tagged = frames(true);
  sent.insert(sent.end(), tagged.begin(), tagged.end());
  for (Hook hook : {Hook::Ingress, Hook::Egress}) {
    SCOPED_TRACE(name(hook));
    bench.add_filter(hook, TcBench::kDevice,
                     filter_command(TcBench::kDevice, hook, "--link ether --max-insns 4096", sigs_));
    ASSERT_EQ(bench.send(hook, sent), sent.size());
    EXPECT_EQ(bench.count_at(hook), 2 * matched_by_any());
    fmt::print("one filter for {} signatures at {}: {} of {} frames (p0f: {})\n", sigs_.size(), name(hook),
               bench.count_at(hook), sent.size(), 2 * matched_by_any());
  }
}

// What tc takes: a classic program of kTcMaxInstructions with the action
// the tests use (tc sends the filter in one netlink message of 16 KB, and
// refuses a much longer program, whatever cls_bpf would take); and a tc
// script refuses, before it runs, a selection that needs more (p0f's whole
// request section: 2632 instructions behind Ethernet).
TEST_F(Tc, TheLimitIsWhatTcTakes) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  auto program = [](std::size_t n) {
    std::string out = std::to_string(n);
    for (std::size_t i = 0; i + 1 < n; ++i) out += ",0 0 0 0";  // ld #0
    return out + ",6 0 0 0";                                   // ret #0
  };
  auto add = [&](std::size_t n) {
    int status = 0;
    std::string out = bench.exec(fmt::format("tc filter add dev {} ingress pref 77 bpf bytecode '{}' action mirred "
                                             "egress mirror dev {} continue",
                                             TcBench::kDevice, program(n), TcBench::kSink),
                                 &status);
    bench.exec(fmt::format("tc filter del dev {} ingress pref 77", TcBench::kDevice));
    return std::pair{status, out};
  };
  auto [at_limit, said] = add(kTcMaxInstructions);
  EXPECT_EQ(at_limit, 0) << said;
  EXPECT_NE(add(4096).first, 0) << "tc took 4096 instructions: the limit may be raised";
  int status = 0;
  std::string out = run_shell(std::string(P0FBPF_BINARY) + " -F /etc/p0f/p0f.fp --label . -f script --hook tc --dev eth0",
                              &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("more than the 2000 allowed"), std::string::npos) << out;
}

// The default program reads an IP header at offset 0, where cls_bpf has the
// destination MAC address on an Ethernet device: it matches nothing there.
// Deterministic: vb's address starts with 0x02, no IP version.
TEST_F(Tc, RawProgramsMatchNothingOnEthernet) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  for (Hook hook : {Hook::Ingress, Hook::Egress}) {
    SCOPED_TRACE(name(hook));
    for (const auto& sig : sigs_) {
      bench.add_filter(hook, TcBench::kDevice, filter_command(TcBench::kDevice, hook, "", sig));
    }
    auto sent = frames(false);
    auto tagged = frames(true);
    sent.insert(sent.end(), tagged.begin(), tagged.end());
    ASSERT_EQ(bench.send(hook, sent), sent.size());
    auto counts = bench.counts_at(hook);
    EXPECT_EQ(counts.size(), sigs_.size());
    for (const auto& [pref, count] : counts) EXPECT_EQ(count, 0) << "pref " << pref;
    fmt::print("raw programs at {} of an Ethernet device: {} of {} frames counted ({} strict p0f matches)\n",
               name(hook), bench.count_at(hook), sent.size(), 2 * total_expected());
  }
  EXPECT_GT(total_expected(), 0);
}

// What cls_bpf hands a classic program for 802.1Q-tagged frames, by
// hand-written programs (tcpdump -ddd style): at ingress the tag has been
// moved into the skb's metadata (the frame reads as IPv4, vlan_tci is 42);
// at egress it is still in the frame.
TEST_F(Tc, TaggedFramesReachIngressUntagged) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  const std::string ethertype_8021q = "4,40 0 0 12,21 0 1 33024,6 0 0 65535,6 0 0 0";  // ldh [12]; jeq #0x8100
  const std::string ethertype_ipv4 = "4,40 0 0 12,21 0 1 2048,6 0 0 65535,6 0 0 0";     // ldh [12]; jeq #0x800
  // ld vlan_tci (SKF_AD_OFF + SKF_AD_VLAN_TAG = -4096 + 44); jeq #42
  const std::string metadata_vlan_42 = "4,32 0 0 4294963244,21 0 1 42,6 0 0 65535,6 0 0 0";
  std::vector<std::vector<std::uint8_t>> tagged;
  for (const auto& f : frames(true)) {
    if (f[16] == 0x08 && f[17] == 0x00) tagged.push_back(f);  // IPv4 behind the tag
  }
  ASSERT_GT(tagged.size(), 5u);
  long n = static_cast<long>(tagged.size());
  for (Hook hook : {Hook::Ingress, Hook::Egress}) {
    SCOPED_TRACE(name(hook));
    std::vector<int> prefs;
    for (const auto* program : {&ethertype_8021q, &ethertype_ipv4, &metadata_vlan_42}) {
      prefs.push_back(bench.add_filter(
          hook, TcBench::kDevice,
          fmt::format("tc filter add dev {} {} bpf bytecode '{}' action mirred egress mirror dev {} continue",
                      TcBench::kDevice, name(hook), *program, TcBench::kSink)));
    }
    ASSERT_EQ(bench.send(hook, tagged), tagged.size());
    auto counts = bench.counts_at(hook);
    bool ingress = hook == Hook::Ingress;
    EXPECT_EQ(counts[prefs[0]], ingress ? 0 : n) << "frames with the tag in them";
    EXPECT_EQ(counts[prefs[1]], ingress ? n : 0) << "frames reading as untagged IPv4";
    EXPECT_EQ(counts[prefs[2]], ingress ? n : 0) << "frames with VLAN 42 in the metadata";
    fmt::print("{} tagged frames at {}: tag in the frame {}, untagged IPv4 {}, VLAN 42 in metadata {}\n", n, name(hook),
               counts[prefs[0]], counts[prefs[1]], counts[prefs[2]]);
  }
}

// On an L3 device the packet starts with its IP header: the default raw
// program counts p0f's strict matches there, at both hooks.
TEST_F(Tc, RawProgramsOnTun) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  bench.add_tun();
  std::vector<std::vector<std::uint8_t>> ip;
  for (const auto& p : packets_) ip.push_back(build_packet(p));
  for (Hook hook : {Hook::Ingress, Hook::Egress}) {
    SCOPED_TRACE(name(hook));
    std::vector<int> prefs;
    for (const auto& sig : sigs_) {
      prefs.push_back(bench.add_filter(hook, TcBench::kTun, filter_command(TcBench::kTun, hook, "", sig)));
    }
    ASSERT_EQ(bench.send_ip(hook, ip), ip.size());
    auto counts = bench.counts_at(hook, TcBench::kTun);
    std::vector<long> got;
    for (std::size_t s = 0; s < sigs_.size(); ++s) {
      got.push_back(counts.count(prefs[s]) ? counts[prefs[s]] : -1);
      EXPECT_EQ(got.back(), expected_[s]) << sigs_[s];
    }
    fmt::print("tun {}: {} packets, counts {} (p0f: {})\n", name(hook), ip.size(), fmt::join(got, " "),
               fmt::join(expected_, " "));
  }
}

// The script p0fbpf writes (-f script --hook tc), run in the namespace: on
// the Ethernet veth and on the tun device it picks the program for the
// device's header, counts p0f's strict matches (untagged and tagged frames),
// changes nothing when run again, and --delete removes its filter.
TEST_F(Tc, GeneratedScriptCountsP0fsMatchesOnEthernetAndTun) {
  TcBench bench;
  ASSERT_TRUE(bench.ok());
  bench.add_tun();
  std::string quoted;
  for (const auto& sig : sigs_) quoted += fmt::format(" '{}'", sig);
  auto sent = frames(false);
  auto tagged = frames(true);
  sent.insert(sent.end(), tagged.begin(), tagged.end());
  std::vector<std::vector<std::uint8_t>> ip;
  for (const auto& p : packets_) ip.push_back(build_packet(p));
  for (const char* device : {TcBench::kDevice, TcBench::kTun}) {
    for (Hook hook : {Hook::Ingress, Hook::Egress}) {
      SCOPED_TRACE(fmt::format("{} {}", device, name(hook)));
      std::string script = fmt::format("{}/p0fbpf-tc-{}-{}.sh", ::testing::TempDir(), device, name(hook));
      bench.must(fmt::format("{} -f script --hook tc --dev {} --direction {} --target 'mirred egress mirror dev {} "
                             "continue'{} > {}",
                             P0FBPF_BINARY, device, name(hook), TcBench::kSink, quoted, script));
      bench.must("bash " + script);
      std::string installed = bench.exec(fmt::format("tc filter show dev {} {}", device, name(hook)));
      bench.must("bash " + script);
      EXPECT_EQ(bench.exec(fmt::format("tc filter show dev {} {}", device, name(hook))), installed);
      bool ethernet = std::string(device) == TcBench::kDevice;
      std::size_t count = ethernet ? bench.send(hook, sent) : bench.send_ip(hook, ip);
      ASSERT_EQ(count, ethernet ? sent.size() : ip.size());
      long expected = (ethernet ? 2 : 1) * matched_by_any();
      EXPECT_EQ(bench.count_at(hook, device), expected);
      fmt::print("script on {} at {}: {} of {} (p0f: {})\n", device, name(hook), bench.count_at(hook, device), count,
                 expected);
      bench.must("bash " + script + " --delete");
      EXPECT_TRUE(bench.counts_at(hook, device).empty());
      std::remove(script.c_str());
    }
  }
}

}  // namespace
}  // namespace p0fbpf::testing
