// XDP programs on a device and pinned socket filters, end to end through the
// command line, in two network namespaces joined by a veth pair: frames
// built around p0f.fp signatures go out of va; on vb, p0fbpf's XDP program
// (or an iptables rule with its pinned program) must count exactly what p0f
// strictly matches, and let the rest through.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <memory>

#include <fmt/format.h>

#include "bpffs.hpp"
#include "cli_run.hpp"
#include "netns.hpp"
#include "p0f_database.hpp"
#include "p0f_oracle.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "text_match.hpp"

namespace p0fbpf::testing {
namespace {

constexpr const char* kDatabase = "/etc/p0f/p0f.fp";

std::string quote(const std::string& arg) { return shell_quote(arg); }

// p0f.fp request signatures: some 4: ones, some * ones and 6: ones made from * ones.
std::vector<std::string> some_signatures(std::size_t per_kind) {
  std::vector<std::string> all, out;
  for (const auto& s : tcp_signatures(kDatabase)) {
    if (!s.response) all.push_back(s.text);
  }
  std::size_t fours = 0, stars = 0, sixes = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    if (all[i][0] == '4' && fours < per_kind && i % 3 == 0) out.push_back(all[i]), ++fours;
    if (all[i][0] == '*' && stars < per_kind && i % 5 == 0) out.push_back(all[i]), ++stars;
    if (all[i][0] == '*' && sixes < per_kind && i % 7 == 3) out.push_back(signature_for_version(all[i], true)), ++sixes;
  }
  return out;
}

bool other_version(const std::string& sig, const PacketSpec& packet) {
  return (sig[0] == '4' && packet.ipv6) || (sig[0] == '6' && !packet.ipv6);
}

class XdpDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    P0FBPF_REQUIRE(geteuid() == 0, "needs root for network namespaces, XDP and bpffs");
    int status = 0;
    run_shell("command -v ip && command -v iptables && command -v ip6tables", &status);
    P0FBPF_REQUIRE(status == 0, "ip, iptables or ip6tables missing");
    auto p0f = find_p0f();
    P0FBPF_REQUIRE(p0f.has_value(), "p0f is not installed (apt-get install p0f)");
    p0f_ = *p0f;
    P0FBPF_REQUIRE(std::ifstream(kDatabase).good(), std::string(kDatabase) + " missing");
    // Outside /sys, which ip netns exec remounts.
    bpffs_mount_ = std::make_unique<Bpffs>("xdp");
    bpffs_ = bpffs_mount_->path();
    P0FBPF_REQUIRE(bpffs_mount_->mounted(), "cannot mount a BPF file system at " + bpffs_);
  }
  void TearDown() override {
    bpffs_mount_.reset();
  }

  // Frames around the signatures, addressed to vb, and p0f's verdicts on them.
  void make_frames(const Namespaces& ns, const std::vector<std::string>& sigs, int per_version) {
    std::uint64_t seed = std::random_device{}();
    fmt::print("seed {}\n", seed);
    Random rng(seed);
    for (const auto& sig : sigs) {
      Result<Signature> parsed = parse_signature(sig);
      ASSERT_TRUE(parsed.ok()) << sig;
      for (bool v6 : {false, true}) {
        if ((parsed->version == IpVersion::V4 && v6) || (parsed->version == IpVersion::V6 && !v6)) continue;
        for (int i = 0; i < per_version; ++i) {
          PacketSpec p = matching_packet(*parsed, v6, false, rng);
          if (i % 3 == 2) p = mutate(p, rng);
          packets_.push_back(p);
        }
      }
    }
    for (std::size_t i = 0; i < packets_.size(); ++i) {
      PacketSpec spec = packets_[i];
      assign_flow(spec, i, false);
      frames_.push_back(frame_to(spec, ns.mac_b()));
    }
    for (const auto& sig : sigs) {
      auto verdicts = run_p0f(p0f_, packets_, sig, false);
      ASSERT_EQ(verdicts.size(), packets_.size());
      std::vector<bool> matched;
      for (std::size_t i = 0; i < packets_.size(); ++i) {
        matched.push_back(verdicts[i].matched && !other_version(sig, packets_[i]));
      }
      p0f_matches_.push_back(std::move(matched));
    }
  }

  std::string p0fbpf_in(const std::string& ns, const std::string& args, int* status) {
    return run_shell(fmt::format("ip netns exec {} {} {} 2>&1", ns, quote(P0FBPF_BINARY), args), status);
  }

  std::string p0f_;
  std::string bpffs_;
  std::unique_ptr<Bpffs> bpffs_mount_;
  std::vector<PacketSpec> packets_;
  std::vector<std::vector<std::uint8_t>> frames_;
  std::vector<std::vector<bool>> p0f_matches_;  // per signature, per packet
};

struct StatsJson {
  long program_id = -1;
  long seen = -1;
  std::string action;
  std::vector<long> matches;
};

StatsJson parse_stats(const std::string& json) {
  StatsJson out;
  out.program_id = testing::json_number(json, "program_id");
  out.seen = testing::json_number(json, "seen");
  out.action = testing::json_text(json, "action");
  out.matches = testing::json_numbers(json, "matches");
  return out;
}

// attach: every signature's counter equals the frames p0f strictly matches
// with it and with no signature before it; those frames are dropped and the
// others arrive. Attaching again (--count-only) replaces the program: one
// program, the counters kept, nothing dropped. detach leaves none, twice.
TEST_F(XdpDevice, AttachCountsP0fsMatchesStatsAndDetach) {
  Namespaces ns;
  std::vector<std::string> sigs = some_signatures(5);
  ASSERT_GE(sigs.size(), 10u);
  ASSERT_NO_FATAL_FAILURE(make_frames(ns, sigs, 6));
  std::vector<long> expected(sigs.size(), 0);
  long matched = 0;
  for (std::size_t i = 0; i < packets_.size(); ++i) {
    for (std::size_t s = 0; s < sigs.size(); ++s) {
      if (p0f_matches_[s][i]) {
        ++expected[s];
        ++matched;
        break;
      }
    }
  }
  std::string sig_args;
  for (const auto& s : sigs) sig_args += " " + quote(s);
  std::string bpffs = " --bpffs " + quote(bpffs_);

  int status = 0;
  std::string out = p0fbpf_in(ns.b(), "xdp attach vb" + bpffs + sig_args, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("mode"), std::string::npos) << out;  // says which mode it used
  long arrived = frames_arriving(ns, frames_);
  std::string json = p0fbpf_in(ns.b(), "xdp stats vb --json", &status);
  ASSERT_EQ(status, 0) << json;
  StatsJson first = parse_stats(json);
  EXPECT_EQ(first.action, "drop");
  EXPECT_EQ(first.matches, expected) << json;
  EXPECT_GE(first.seen, static_cast<long>(frames_.size()));
  EXPECT_EQ(arrived, static_cast<long>(frames_.size()) - matched);
  EXPECT_GT(matched, static_cast<long>(sigs.size()));
  EXPECT_LT(matched, static_cast<long>(frames_.size()));
  // --watch prints again every interval until interrupted, then exits 0.
  std::string watched = p0fbpf_in(ns.b(), "xdp stats vb --watch 0.5 & sleep 1.8; kill -INT $!; wait $!", &status);
  EXPECT_EQ(status, 0) << watched;
  std::size_t snapshots = 0;
  for (std::size_t at = watched.find("packets seen"); at != std::string::npos;
       at = watched.find("packets seen", at + 1)) {
    ++snapshots;
  }
  // About 4 in 1.8 s at 0.5 s; starting two processes may take a while on a loaded machine.
  EXPECT_GE(snapshots, 2u) << watched;
  EXPECT_LE(snapshots, 5u) << watched;
  auto pinned = testing::first_match(out, "pinned in (\\S+)\n");
  ASSERT_TRUE(pinned) << out;
  std::string pin_dir = (*pinned)[0];
  EXPECT_EQ(pin_dir.rfind(bpffs_ + "/p0fbpf/", 0), 0u) << pin_dir;
  for (const char* pin : {"program", "counters", "names", "info"}) {
    struct stat st {};
    EXPECT_EQ(stat(fmt::format("{}/{}", pin_dir, pin).c_str(), &st), 0) << pin;
  }

  out = p0fbpf_in(ns.b(), "xdp attach vb --count-only" + bpffs + sig_args, &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find(fmt::format("replacing program {} (counts kept for {} of its signatures)", first.program_id,
                                 sigs.size())),
            std::string::npos)
      << out;
  std::string link = run_shell(fmt::format("ip -n {} -d link show vb", ns.b()));
  EXPECT_EQ(testing::each_match(link, "prog/xdp id ([0-9]+)").size(), 1u) << link;
  arrived = frames_arriving(ns, frames_);
  StatsJson second = parse_stats(p0fbpf_in(ns.b(), "xdp stats vb --json", &status));
  EXPECT_NE(second.program_id, first.program_id);
  EXPECT_EQ(second.action, "count-only");
  // The counts of the first program, kept, and the same frames once more.
  std::vector<long> twice = expected;
  for (long& count : twice) count *= 2;
  EXPECT_EQ(second.matches, twice);
  EXPECT_GE(second.seen, first.seen + static_cast<long>(frames_.size()));
  EXPECT_EQ(arrived, static_cast<long>(frames_.size()));

  out = p0fbpf_in(ns.b(), "xdp detach vb" + bpffs, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(run_shell(fmt::format("ip -n {} link show vb", ns.b())).find("prog/xdp"), std::string::npos);
  struct stat st {};
  EXPECT_NE(stat(pin_dir.c_str(), &st), 0) << "the pins stay";
  EXPECT_NE(stat((bpffs_ + "/p0fbpf").c_str(), &st), 0) << "the pin directory stays";
  out = p0fbpf_in(ns.b(), "xdp detach vb" + bpffs, &status);
  EXPECT_EQ(status, 0) << out;
  out = p0fbpf_in(ns.b(), "xdp stats vb", &status);
  EXPECT_EQ(status, 2) << out;
}

// Another program on the device is neither replaced nor detached.
TEST_F(XdpDevice, LeavesAnotherProgramAlone) {
  int status = 0;
  run_shell("command -v clang && command -v gcc", &status);
  P0FBPF_REQUIRE(status == 0, "clang is needed to build another XDP program (apt-get install clang)");
  Namespaces ns;
  std::string dir = ::testing::TempDir() + "p0fbpf_other_" + std::to_string(getpid());
  std::string design_card = quote("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0");
  std::string out = run_shell(fmt::format(
      "mkdir -p {0} && {1} -f xdp --name other {2} > {0}/other.c && clang -O2 -g -target bpf "
      "-I/usr/include/$(gcc -dumpmachine) -c {0}/other.c -o {0}/other.o && ip -n {3} link set dev vb xdp obj "
      "{0}/other.o sec xdp 2>&1",
      dir, quote(P0FBPF_BINARY), design_card, ns.b()), &status);
  run_shell("rm -rf " + dir);
  ASSERT_EQ(status, 0) << out;
  // The other program, as the device lists it (its id): not the whole
  // listing, whose link state may still change while the veth comes up.
  auto xdp_program = [&] {
    std::string shown = run_shell(fmt::format("ip -n {} link show vb", ns.b()));
    auto at = shown.find("prog/xdp");
    return at == std::string::npos ? std::string() : shown.substr(at, shown.find('\n', at) - at);
  };
  std::string before = xdp_program();
  ASSERT_NE(before, "");
  out = p0fbpf_in(ns.b(), "xdp attach vb --bpffs " + quote(bpffs_) + " " + design_card, &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("not p0fbpf's"), std::string::npos) << out;
  struct stat st {};
  EXPECT_NE(stat((bpffs_ + "/p0fbpf").c_str(), &st), 0) << "a refused attach left pins or directories";
  out = p0fbpf_in(ns.b(), "xdp detach vb --bpffs " + quote(bpffs_), &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_EQ(xdp_program(), before);
}

// Without --bpffs the pins go to /sys/fs/bpf, which gets a BPF file system
// if it has none: under ip netns exec it has none (and the one mounted goes
// with the command), and the program is still found through the device.
TEST_F(XdpDevice, MountsTheSystemBpffsWhereItIsMissing) {
  Namespaces ns;
  int status = 0;
  std::string out = p0fbpf_in(ns.b(), "xdp attach vb " + quote("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"),
                              &status);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("mounted a BPF file system at /sys/fs/bpf"), std::string::npos) << out;
  out = p0fbpf_in(ns.b(), "xdp stats vb", &status);
  EXPECT_EQ(status, 0) << out;
  out = p0fbpf_in(ns.b(), "xdp detach vb", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(run_shell(fmt::format("ip -n {} link show vb", ns.b())).find("prog/xdp"), std::string::npos);
  out = p0fbpf_in(ns.b(), "xdp attach vb --bpffs /tmp " + quote("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"),
                  &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("not a BPF file system"), std::string::npos) << out;
}

// The -f xdp file loads with xdp-tools' loader too, which p0fbpf's own
// commands then find (it is not theirs, so they leave it alone).
TEST_F(XdpDevice, CFileLoadsWithXdpLoader) {
  int status = 0;
  run_shell("command -v clang && command -v gcc && command -v xdp-loader", &status);
  P0FBPF_REQUIRE(status == 0, "clang and xdp-loader are needed (apt-get install clang xdp-tools)");
  Namespaces ns;
  std::string dir = ::testing::TempDir() + "p0fbpf_xdp_loader_" + std::to_string(getpid());
  std::string out = run_shell(fmt::format(
      "mkdir -p {0} && {1} -f xdp --name syn_flood -F /etc/p0f/p0f.fp --label Linux > {0}/syn.c && clang -O2 -g -target bpf "
      "-I/usr/include/$(gcc -dumpmachine) -c {0}/syn.c -o {0}/syn.o && ip netns exec {2} xdp-loader load -m skb vb "
      "{0}/syn.o 2>&1 && ip netns exec {2} xdp-loader status vb 2>&1",
      dir, quote(P0FBPF_BINARY), ns.b()), &status);
  run_shell("rm -rf " + dir);
  ASSERT_EQ(status, 0) << out;
  EXPECT_NE(out.find("syn_flood"), std::string::npos) << out;
  out = p0fbpf_in(ns.b(), "xdp stats vb", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("not p0fbpf's"), std::string::npos) << out;
  out = run_shell(fmt::format("ip netns exec {} xdp-loader unload vb --all 2>&1", ns.b()), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(run_shell(fmt::format("ip -n {} link show vb", ns.b())).find("prog/xdp"), std::string::npos);
}

// p0fbpf pin: one program for more signatures than 64 instructions hold,
// in an iptables and an ip6tables rule (--object-pinned); together they
// count the frames p0f strictly matches with any of the signatures.
TEST_F(XdpDevice, PinnedProgramInIptablesCountsP0fsMatches) {
  Namespaces ns;
  std::vector<std::string> sigs = some_signatures(4);
  ASSERT_NO_FATAL_FAILURE(make_frames(ns, sigs, 6));
  std::vector<SignatureSource> sources;
  for (const auto& s : sigs) sources.push_back({s, ""});
  Compilation classic = compile(sources, {});
  ASSERT_TRUE(classic.ok());
  EXPECT_GT(classic.program->instructions.size(), 64u);  // beyond --bytecode's limit
  long expected = 0;
  for (std::size_t i = 0; i < packets_.size(); ++i) {
    bool any = false;
    for (const auto& per_packet : p0f_matches_) any = any || per_packet[i];
    expected += any;
  }
  std::string path = bpffs_ + "/syn_flood";
  std::string sig_args;
  for (const auto& s : sigs) sig_args += " " + quote(s);
  int status = 0;
  std::string out = p0fbpf_in(ns.b(), "pin " + quote(path) + sig_args, &status);
  ASSERT_EQ(status, 0) << out;
  for (const char* tool : {"iptables", "ip6tables"}) {
    ns.run(fmt::format("ip netns exec {} {} -t raw -A PREROUTING -i vb -m bpf --object-pinned {}", ns.b(), tool,
                       quote(path)));
  }
  long arrived = frames_arriving(ns, frames_);
  EXPECT_EQ(arrived, static_cast<long>(frames_.size()));  // counted, not dropped
  std::vector<long> v4 = bpf_rule_counters(ns.b(), "iptables", "raw", "PREROUTING");
  std::vector<long> v6 = bpf_rule_counters(ns.b(), "ip6tables", "raw", "PREROUTING");
  ASSERT_EQ(v4.size(), 1u);
  ASSERT_EQ(v6.size(), 1u);
  EXPECT_EQ(v4[0] + v6[0], expected);
  EXPECT_GT(v4[0], 0);
  EXPECT_GT(v6[0], 0);
  fmt::print("{} signatures in one pinned program ({} classic instructions): {} of {} frames counted\n",
             sigs.size(), classic.program->instructions.size(), expected, frames_.size());

  out = p0fbpf_in(ns.b(), "pin " + quote(bpffs_ + "/bad.name") + sig_args, &status);
  EXPECT_EQ(status, 2) << out;
  out = p0fbpf_in(ns.b(), "pin /tmp/not-bpffs" + sig_args, &status);
  EXPECT_EQ(status, 2) << out;
}

}  // namespace
}  // namespace p0fbpf::testing
