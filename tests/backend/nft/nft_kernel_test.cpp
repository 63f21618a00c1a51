// -f nft in the kernel (root): in network namespaces of their own
// (p0fbpf-nft-*), a table for every p0f.fp request signature (--count-only,
// so that each rule sees every frame; also --loose, and the response
// signatures, exact and --loose, with SYN+ACKs) is loaded with nft -f at
// each hook at once: input, prerouting, and netdev ingress (every frame as
// it comes, also VLAN-tagged). Frames are sent through a veth, and every
// signature's named counter in each table must move exactly when the
// classic program of that signature accepts the packet as that hook sees
// it (libpcap's bpf_filter). Frames: matching ones, near misses, IPv4
// options, IPv6 extension headers (destination options, a fragment
// header), fragments, datagrams cut short, random ones. Also: with --negate at ingress,
// what is not a SYN passes; --rate's burst; loading twice leaves one table;
// a foreign table survives loading and deleting ours; a file cut short
// changes nothing; the guide's reboot lines.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "bpf_run.hpp"
#include "cli_run.hpp"
#include "netns.hpp"
#include "nft_model.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "test_seed.hpp"

namespace p0fbpf {
namespace {

using testing::run_shell;

const char* kDatabase = "/etc/p0f/p0f.fp";

// Namespaces a and b joined by veth va/vb; b has 10.99.0.2/24 and
// fd00:99::2/64 on vb.
class NftNamespaces {
 public:
  NftNamespaces() {
    std::string id = std::to_string(getpid());
    a_ = "p0fbpf-nft-" + id + "-a";
    b_ = "p0fbpf-nft-" + id + "-b";
    ok_ = sh("ip netns add " + a_) && sh("ip netns add " + b_) &&
          sh("ip link add va netns " + a_ + " type veth peer name vb netns " + b_) &&
          sh("ip -n " + a_ + " link set va up") && sh("ip -n " + b_ + " link set vb up") &&
          sh("ip -n " + b_ + " link set lo up") && sh("ip -n " + b_ + " addr add 10.99.0.2/24 dev vb") &&
          sh("ip -n " + b_ + " addr add fd00:99::2/64 dev vb nodad") &&
          sh("ip netns exec " + b_ + " sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.vb.rp_filter=0");
    std::string mac = run_shell("ip netns exec " + b_ + " cat /sys/class/net/vb/address");
    for (int i = 0; i < 6 && mac.size() >= 17; ++i) mac_[i] = static_cast<std::uint8_t>(std::stoul(mac.substr(3 * i, 2), nullptr, 16));
  }
  ~NftNamespaces() {
    for (const std::string& ns : {a_, b_}) {
      run_shell("ip netns pids " + ns + " 2>/dev/null | xargs -r kill");  // a test's listener
      run_shell("ip netns del " + ns);
    }
  }
  bool ok() const { return ok_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }
  const std::array<std::uint8_t, 6>& mac_b() const { return mac_; }
  // nft in b.
  std::string nft(const std::string& args, int* status = nullptr) const {
    return run_shell("ip netns exec " + b_ + " nft " + args, status);
  }

 private:
  static bool sh(const std::string& command) {
    int status = 0;
    run_shell(command, &status);
    return status == 0;
  }
  std::string a_, b_;
  std::array<std::uint8_t, 6> mac_{};
  bool ok_ = false;
};

bool can_run() {
  int status = 0;
  run_shell("nft --version", &status);
  return geteuid() == 0 && status == 0;
}

// Every table's counters, from one `nft -j list counters` (nft reads the
// whole ruleset for any listing: seconds for a few whole databases):
// "FAMILY NAME" -> counter name -> packets.
std::map<std::string, std::map<std::string, long>> all_counters(const NftNamespaces& ns) {
  std::string json = ns.nft("-j list counters");
  std::map<std::string, std::map<std::string, long>> out;
  auto text_after = [&](const std::string& key, std::size_t from) {
    std::size_t at = json.find("\"" + key + "\": \"", from) + key.size() + 5;
    return json.substr(at, json.find('"', at) - at);
  };
  for (std::size_t at = 0; (at = json.find("\"counter\": {", at)) != std::string::npos; ++at) {
    auto packets = json.find("\"packets\": ", at) + 11;
    out[text_after("family", at) + " " + text_after("table", at)][text_after("name", at)] =
        std::stol(json.substr(packets));
  }
  return out;
}

// Every counter of the table: name -> packets. `table` is FAMILY NAME.
std::map<std::string, long> counters(const NftNamespaces& ns, const std::string& table) {
  return all_counters(ns)[table];
}

std::string write_file(const std::string& name, const std::string& text) {
  std::string path = testing::temp_file("nft_kernel_", name);
  std::ofstream(path) << text;
  return path;
}

// Addressed from 10.99.0.1 / fd00:99::1 to b's addresses.
void address(testing::PacketSpec& spec) {
  spec.source = {};
  spec.destination = {};
  if (spec.ipv6) {
    spec.source = {0xfd, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    spec.destination = spec.source;
    spec.destination[15] = 2;
  } else {
    spec.source[0] = 10, spec.source[1] = 99, spec.source[3] = 1;
    spec.destination[0] = 10, spec.destination[1] = 99, spec.destination[3] = 2;
  }
}

// An Ethernet frame to vb with an IPv4 SYN from a to b that `signature`
// matches.
std::vector<std::uint8_t> syn_frame(const NftNamespaces& ns, const std::string& signature, std::uint64_t seed) {
  testing::Random rng(seed);
  testing::PacketSpec spec = testing::matching_packet(*parse_signature(signature), false, false, rng);
  address(spec);
  std::vector<std::uint8_t> frame = testing::ethernet_frame(testing::build_packet(spec), false, false);
  std::copy(ns.mac_b().begin(), ns.mac_b().end(), frame.begin());  // to vb
  return frame;
}

// IPv6 packet with an extension header in front of its TCP header: 60,
// destination options (a PadN), or 44, a fragment header (offset 0, the last
// fragment: the whole datagram).
std::vector<std::uint8_t> with_extension_header(std::vector<std::uint8_t> p, std::uint8_t type) {
  if (p.size() < 40 || (p[0] >> 4) != 6) return p;
  std::vector<std::uint8_t> options = {p[6], 0, 1, 4, 0, 0, 0, 0};  // next header, length 0, PadN
  if (type == 44) options = {p[6], 0, 0, 0, 0x12, 0x34, 0x56, 0x78};  // next header, offset 0, M 0, an ID
  p[6] = type;
  unsigned length = ((p[4] << 8) | p[5]) + 8u;
  p[4] = static_cast<std::uint8_t>(length >> 8), p[5] = static_cast<std::uint8_t>(length);
  p.insert(p.begin() + 40, options.begin(), options.end());
  return p;
}

// Which rules: exact or --loose, of SYNs or (--response) of SYN+ACKs.
struct Mode {
  bool loose = false;
  bool response = false;
};

// The same frames meet a table at each hook of `hooks` (input,
// prerouting, ingress), each table's counters against what the hook sees.
// With `per_frame`, the counters are read after each frame; otherwise (the
// whole database, whose listing takes nft seconds) once after all frames,
// each counter against the sum of its signature's verdicts.
void differential(const std::vector<std::string>& hooks, const std::string& label, bool per_frame, Mode mode = {}) {
  P0FBPF_REQUIRE(can_run(), "needs root and nft (Debian: nftables)");
  NftNamespaces ns;
  P0FBPF_REQUIRE(ns.ok(), "cannot set up network namespaces");
  std::vector<std::string> signatures;
  std::vector<std::string> list = {"-f", "nft", "-F", kDatabase, "--label", label};
  if (mode.response) list.push_back("--response");
  testing::Outcome listed = testing::run_p0fbpf(list);
  for (const auto& s : testing::tcp_signatures(kDatabase)) {
    if (s.response == mode.response && listed.out.find(": " + s.text + "\"") != std::string::npos) {
      signatures.push_back(s.text);
    }
  }
  P0FBPF_REQUIRE(!signatures.empty(), std::string("no signatures in ") + kDatabase);
  std::string input;
  for (const auto& s : signatures) input += s + "\n";
  std::vector<std::string> tables;  // FAMILY NAME, per hook
  for (const std::string& hook : hooks) {
    std::vector<std::string> args = {"-f", "nft", "--count-only", "--hook", hook, "--table", "p0fbpf_" + hook, "-"};
    if (hook == "ingress") args.insert(args.end() - 1, {"--dev", "vb"});
    if (mode.loose) args.insert(args.end() - 1, "--loose");
    if (mode.response) args.insert(args.end() - 1, "--response");
    testing::Outcome o = testing::run_p0fbpf(args, input);
    ASSERT_EQ(o.status, 0) << o.err;
    ASSERT_EQ(o.out.find("counter sig" + std::to_string(signatures.size() + 1) + " "), std::string::npos);
    int status = 0;
    std::string said = ns.nft("-f " + write_file(hook + ".nft", o.out), &status);
    ASSERT_EQ(status, 0) << said;
    tables.push_back((hook == "ingress" ? "netdev p0fbpf_" : "inet p0fbpf_") + hook);
  }

  std::vector<BpfProgram> classic;
  CompileOptions options;
  options.mode = mode.loose ? MatchMode::Loose : MatchMode::Exact;
  options.direction = mode.response ? Direction::Response : Direction::Request;
  for (const auto& s : signatures) {
    Compilation c = compile({{s, ""}}, options);
    ASSERT_TRUE(c.ok()) << s;
    classic.push_back(*c.program);
  }
  std::uint64_t seed = testing::seed_from_env();
  std::printf("P0FBPF_SEED=%llu\n", static_cast<unsigned long long>(seed));
  testing::Random rng(seed);
  const bool with_ingress = std::find(hooks.begin(), hooks.end(), "ingress") != hooks.end();
  std::vector<std::map<std::string, long>> before;
  auto counted = all_counters(ns);
  for (const std::string& table : tables) {
    before.push_back(counted[table]);
    ASSERT_EQ(before.back().size(), signatures.size()) << table;
  }
  std::size_t frames = 0, matches = 0;
  std::vector<std::vector<std::uint8_t>> batch;
  std::vector<std::map<std::string, long>> expected_counts(hooks.size());
  std::vector<std::map<std::string, std::string>> expected_frames(hooks.size());  // what each counter should count
  auto check = [&](const std::string& what) {
    auto now = all_counters(ns);
    for (std::size_t h = 0; h < hooks.size(); ++h) {
      std::map<std::string, long> after = now[tables[h]];
      ASSERT_EQ(after.size(), signatures.size()) << tables[h];
      for (const auto& [name, count] : after) {
        EXPECT_EQ(count - before[h][name], expected_counts[h][name])
            << hooks[h] << ": " << name << what << expected_frames[h][name];
      }
      expected_counts[h].clear();
      before[h] = std::move(after);
    }
  };
  for (std::size_t s = 0; s < signatures.size(); ++s) {
    Signature sig = *parse_signature(signatures[s]);
    for (int k = 0; k < 7; ++k) {
      bool ipv6 = sig.version == IpVersion::V6 || (sig.version == IpVersion::Any && k % 2);
      testing::PacketSpec spec = k == 6 ? testing::random_packet(ipv6, mode.response, rng)
                                        : testing::matching_packet(sig, ipv6, mode.response, rng);
      if (k == 2) {
        spec = testing::mutate(spec, rng);
        ipv6 = spec.ipv6;  // a mutation may change the IP version, and the frame's EtherType with it
      }
      if (k == 3 && !ipv6) spec.ip_options = {1, 1, 1, 0};
      if (k == 4 && !ipv6) spec.fragment = rng() % 2 ? 0x2000 : 0x0010;  // a first fragment, a later one
      address(spec);
      std::vector<std::uint8_t> packet = testing::build_packet(spec);
      // A destination options header, or a fragment header, before TCP.
      if (k == 4 && ipv6) packet = with_extension_header(packet, rng() % 2 ? 44 : 60);
      if (k == 5) {  // cut short, the length field saying so
        testing::PacketSpec cut = spec;
        std::size_t full = packet.size(), header = ipv6 ? 40 : 20;
        std::size_t keep = header + 1 + rng() % (full - header - 1);
        cut.length_field = static_cast<std::uint16_t>(ipv6 ? keep - 40 : keep);
        cut.cut = full - keep;
        packet = testing::build_packet(cut);
      }
      // Every hook gets the frame; ingress gets every other one once more
      // behind a VLAN tag, which the kernel moves out of the frame first
      // (the IP stack of vb, which has no VLAN device, never sees that copy).
      for (bool tagged : {false, true}) {
        if (tagged && !(with_ingress && k % 2 == 1)) continue;
        for (std::size_t h = 0; h < hooks.size(); ++h) {
          auto seen = hooks[h] == "ingress" ? std::optional(packet)
                      : tagged              ? std::nullopt
                                            : testing::delivered(packet, hooks[h] == "input");
          for (std::size_t t = 0; t < signatures.size(); ++t) {
            bool expected = seen && testing::run_bpf(classic[t], *seen) != 0;
            std::string name = "sig" + std::to_string(t + 1);
            expected_counts[h][name] += expected;
            if (expected) expected_frames[h][name] += " " + testing::hex(packet);
            matches += expected;
          }
        }
        batch.push_back(testing::ethernet_frame(packet, ipv6, tagged));
        std::copy(ns.mac_b().begin(), ns.mac_b().end(), batch.back().begin());  // to vb
        ++frames;
      }
      if (!per_frame) {
        if (batch.size() >= 7) {  // in bursts the receiving backlog keeps up with
          std::string sent = testing::in_namespace(ns.a(), [&] { return testing::inject(batch, "va"); });
          ASSERT_EQ(sent, std::to_string(batch.size()));
          batch.clear();
          usleep(50000);
        }
        continue;
      }
      std::string sent = testing::in_namespace(ns.a(), [&] { return testing::inject(batch, "va"); });
      ASSERT_EQ(sent, std::to_string(batch.size()));
      batch.clear();
      usleep(100000);  // the veth hands frames to the receiving side's backlog, run a moment later
      check(" on a frame built for " + signatures[s] + " (" + std::to_string(k) + "): " + testing::hex(packet) +
            "; expected:");
      for (auto& f : expected_frames) f.clear();
    }
  }
  if (!per_frame) {
    std::string sent = testing::in_namespace(ns.a(), [&] { return testing::inject(batch, "va"); });
    ASSERT_EQ(sent, std::to_string(batch.size()));
    usleep(1000000);  // as above
    check(", expected:");
  }
  EXPECT_GT(matches, signatures.size());
  std::printf("%zu frames, %zu signature matches, %zu counters, %zu hooks\n", frames, matches, signatures.size(),
              hooks.size());
}

const std::vector<std::string> kHooks = {"input", "prerouting", "ingress"};

// Frame by frame, for a few labels' signatures, at each hook.
TEST(NftKernel, CountersOfLinuxAndWindowsAreTheClassicVerdictsFrameByFrame) {
  differential(kHooks, "Linux:3.11 and newer|Windows:7 or 8", true);
}
TEST(NftKernel, CountersOfNMapAreTheClassicVerdictsFrameByFrame) { differential(kHooks, "NMap", true); }
TEST(NftKernel, CountersOfFreeBsdAndSolarisAreTheClassicVerdictsFrameByFrame) {
  differential(kHooks, "FreeBSD|Solaris|Windows:XP", true);
}
// The whole database as one table at each hook, its counters after all
// frames: requests and responses, exact and --loose.
TEST(NftKernel, WholeDatabase) { differential(kHooks, ".", false); }
TEST(NftKernel, WholeDatabaseLoose) { differential(kHooks, ".", false, Mode{true, false}); }
TEST(NftKernel, WholeResponseDatabase) { differential(kHooks, ".", false, Mode{false, true}); }
TEST(NftKernel, WholeResponseDatabaseLoose) { differential(kHooks, ".", false, Mode{true, true}); }

// At ingress the table sees every frame of the device. With --negate (drop
// every SYN no signature matches), what is not a TCP SYN still passes: ARP
// and ping over IPv4, neighbour discovery and ping over IPv6; a SYN is
// dropped and counted.
TEST(NftKernel, NegatedIngressLetsEverythingButSynsThrough) {
  P0FBPF_REQUIRE(can_run(), "needs root and nft (Debian: nftables)");
  NftNamespaces ns;
  P0FBPF_REQUIRE(ns.ok(), "cannot set up network namespaces");
  int status = 0;
  run_shell("ip -n " + ns.a() + " addr add 10.99.0.1/24 dev va && ip -n " + ns.a() +
                " addr add fd00:99::1/64 dev va nodad && ip -n " + ns.a() + " link set lo up",
            &status);
  ASSERT_EQ(status, 0);
  testing::Outcome o =
      testing::run_p0fbpf({"-f", "nft", "--negate", "--hook", "ingress", "--dev", "vb", "4:1:0:1:1,0:mss::0"});
  ASSERT_EQ(o.status, 0) << o.err;
  std::string said = ns.nft("-f " + write_file("negate.nft", o.out), &status);
  ASSERT_EQ(status, 0) << said;
  for (const char* ping : {"ping -c 2 -W 2 10.99.0.2", "ping -6 -c 2 -W 2 fd00:99::2"}) {
    said = run_shell("ip netns exec " + ns.a() + " " + ping, &status);
    EXPECT_EQ(status, 0) << ping << ": " << said;
  }
  // A SYN to a closed port, which no signature matches: dropped, so no RST
  // comes back and the connect times out (124) instead of being refused.
  run_shell("ip netns exec " + ns.a() + " timeout 3 bash -c 'exec 3<>/dev/tcp/10.99.0.2/9' 2>&1", &status);
  EXPECT_EQ(status, 124);
  std::string unmatched = ns.nft("list counter netdev p0fbpf unmatched");
  auto at = unmatched.find("packets ");
  ASSERT_NE(at, std::string::npos) << unmatched;
  EXPECT_GE(std::stol(unmatched.substr(at + 8)), 1) << unmatched;
}

// The verdicts, on real connections from a's stack to a listener in b:
// drop (the connect times out), reject (refused by a reset), accept (it
// connects), at input and at prerouting; with --negate, a signature the
// kernel's SYN does not match drops it, one it matches lets it through.
TEST(NftKernel, VerdictsReachTheConnection) {
  P0FBPF_REQUIRE(can_run(), "needs root and nft (Debian: nftables)");
  int python = 0;
  run_shell("python3 -c pass", &python);
  P0FBPF_REQUIRE(python == 0, "the listener needs python3");
  NftNamespaces ns;
  P0FBPF_REQUIRE(ns.ok(), "cannot set up network namespaces");
  int status = 0;
  run_shell("ip -n " + ns.a() + " addr add 10.99.0.1/24 dev va && ip -n " + ns.a() + " link set lo up", &status);
  ASSERT_EQ(status, 0);
  // A listener on 10.99.0.2:8080 for the test's length.
  run_shell("ip netns exec " + ns.b() + " timeout 120 python3 -c 'import socket; s = socket.socket(); "
            "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind((\"10.99.0.2\", 8080)); s.listen(64); "
            "[s.accept()[0].close() for _ in iter(int, 1)]' >/dev/null 2>&1 &");
  auto connect = [&] {  // 0 connected, 1 refused, 124 timed out
    int result = 0;
    run_shell("ip netns exec " + ns.a() + " timeout 2 bash -c 'exec 3<>/dev/tcp/10.99.0.2/8080' 2>/dev/null", &result);
    return result;
  };
  for (int tries = 0; tries < 50 && connect() != 0; ++tries) usleep(100000);
  ASSERT_EQ(connect(), 0) << "no listener";
  // The layout and quirks of Linux's SYN, anything else open: it matches
  // this kernel's SYNs; an MSS of 1 matches none.
  const std::string linux_syn = "4:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0";
  const std::string no_syn = "4:64:0:1:*,*:mss,sok,ts,nop,ws:df,id+:0";
  struct Case {
    std::vector<std::string> args;
    int expected;
  };
  for (const Case& c : std::vector<Case>{
           {{"--target", "drop", linux_syn}, 124},
           {{"--hook", "prerouting", linux_syn}, 124},
           {{"--target", "reject", linux_syn}, 1},
           {{"--target", "accept", linux_syn}, 0},
           {{"--target", "drop", no_syn}, 0},
           {{"--negate", no_syn}, 124},
           {{"--negate", linux_syn}, 0},
           {{"--negate", "--hook", "prerouting", no_syn}, 124},
       }) {
    std::vector<std::string> args = {"-f", "nft"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    testing::Outcome o = testing::run_p0fbpf(args);
    ASSERT_EQ(o.status, 0) << o.err;
    std::string said = ns.nft("-f " + write_file("verdict.nft", o.out), &status);
    ASSERT_EQ(status, 0) << said;
    std::string what;
    for (const std::string& a : c.args) what += a + " ";
    EXPECT_EQ(connect(), c.expected) << what;
    said = ns.nft("delete table inet p0fbpf", &status);
    ASSERT_EQ(status, 0) << said;
    EXPECT_EQ(connect(), 0) << "after " << what;
  }
  // -d's sets are named, like ipsets: an address added while the table
  // runs is filtered from then on.
  testing::Outcome o = testing::run_p0fbpf({"-f", "nft", "-d", "10.99.0.3", linux_syn});
  ASSERT_EQ(o.status, 0) << o.err;
  std::string said = ns.nft("-f " + write_file("verdict.nft", o.out), &status);
  ASSERT_EQ(status, 0) << said;
  EXPECT_EQ(connect(), 0) << "10.99.0.2 is not in dst4";
  said = ns.nft("add element inet p0fbpf dst4 { 10.99.0.2 }", &status);
  ASSERT_EQ(status, 0) << said;
  EXPECT_EQ(connect(), 124) << "10.99.0.2 is in dst4";
}

// --rate N/s: the verdict only for the matches beyond N a second, with a
// burst of N, as the script's hashlimit has: 30 SYNs at once are within
// it; of 300 more at once after it has filled again, about 200 are beyond.
TEST(NftKernel, RateAppliesTheVerdictOnlyBeyondNASecond) {
  P0FBPF_REQUIRE(can_run(), "needs root and nft (Debian: nftables)");
  NftNamespaces ns;
  P0FBPF_REQUIRE(ns.ok(), "cannot set up network namespaces");
  const std::string sig = "4:64:0:*:8192,0:mss:df:0";
  testing::Outcome o = testing::run_p0fbpf({"-f", "nft", "--rate", "100/s", "--target", "jump flood_syns", sig});
  ASSERT_EQ(o.status, 0) << o.err;
  int status = 0;
  std::string said = ns.nft("-f " + write_file("rate.nft", o.out), &status);
  ASSERT_EQ(status, 0) << said;
  said = ns.nft("add rule inet p0fbpf flood_syns counter", &status);
  ASSERT_EQ(status, 0) << said;
  const std::vector<std::uint8_t> frame = syn_frame(ns, sig, 7);
  auto beyond = [&] {
    std::string listed = ns.nft("list chain inet p0fbpf flood_syns");
    auto at = listed.find("packets ");
    return at == std::string::npos ? -1L : std::stol(listed.substr(at + 8));
  };
  auto send = [&](std::size_t count) {
    std::vector<std::vector<std::uint8_t>> batch(count, frame);
    std::string sent = testing::in_namespace(ns.a(), [&] { return testing::inject(batch, "va"); });
    ASSERT_EQ(sent, std::to_string(count));
    usleep(200000);
  };
  send(30);
  EXPECT_EQ(counters(ns, "inet p0fbpf")["sig1"], 30);
  EXPECT_EQ(beyond(), 0);
  sleep(2);  // the limit fills again
  send(300);
  EXPECT_EQ(counters(ns, "inet p0fbpf")["sig1"], 330);
  long over = beyond();
  EXPECT_LE(over, 200);  // at least the burst of 100 passes
  // The limit refills 100 a second while the 300 are sent (a few ms here).
  EXPECT_GE(over, 120) << "the 300 SYNs took over 0.8 s to send";
}

// The guide's lines that keep the table across reboots, run as written in a
// mount namespace where /etc is a copy: /etc/nftables.conf, as
// nftables.service loads it at boot, then holds the table. And what the
// guide says of counters: loading again starts them at 0, and `nft reset
// counters` reads and zeroes them.
TEST(NftKernel, TheGuidesRebootLinesAndCountersWorkAsWritten) {
  P0FBPF_REQUIRE(can_run(), "needs root and nft (Debian: nftables)");
  P0FBPF_REQUIRE(access("/etc/nftables.conf", R_OK) == 0, "no /etc/nftables.conf (Debian: nftables)");
  NftNamespaces ns;
  P0FBPF_REQUIRE(ns.ok(), "cannot set up network namespaces");
  std::ifstream in(std::string(P0FBPF_TEST_DATA) + "/../docs/guide.md");
  std::string block;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("To keep the table across reboots")) inside = true;
    if (inside && line.starts_with("    ")) block += line.substr(4) + "\n";
    if (inside && !block.empty() && !line.starts_with("    ")) break;
  }
  ASSERT_NE(block.find("/etc/nftables.conf"), std::string::npos) << "docs/guide.md's reboot lines: " << block;
  const std::string sig = "4:64:0:*:8192,0:mss:df:0";
  testing::Outcome o = testing::run_p0fbpf({"-f", "nft", sig});
  ASSERT_EQ(o.status, 0) << o.err;
  std::string dir = testing::temp_file("nft_reboot_", "");
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  struct Removed {
    std::string dir;
    ~Removed() { run_shell("rm -rf " + dir); }
  } removed{dir};
  std::ofstream(dir + "/p0fbpf.nft") << o.out;
  std::ofstream(dir + "/reboot.sh") << "set -e\ncd " << dir << "\n" << block << "ip netns exec " << ns.b()
                                    << " nft -f /etc/nftables.conf\n";
  int status = 0;
  // /etc an empty tmpfs but for a copy of nftables.conf, in a mount
  // namespace of the test's own.
  std::string said = run_shell("cp /etc/nftables.conf " + dir + "/ && unshare -m bash -c 'mount -t tmpfs tmpfs /etc && "
                                   "cp " + dir + "/nftables.conf /etc/ && bash " + dir + "/reboot.sh' 2>&1",
                               &status);
  ASSERT_EQ(status, 0) << said;
  ASSERT_EQ(counters(ns, "inet p0fbpf").size(), 1u) << ns.nft("list tables");
  // A SYN it matches, counted; loading again starts at 0; reset reads and zeroes.
  const std::vector<std::vector<std::uint8_t>> frames = {syn_frame(ns, sig, 11)};
  auto send = [&] {
    ASSERT_EQ(testing::in_namespace(ns.a(), [&] { return testing::inject(frames, "va"); }), "1");
    usleep(100000);
  };
  send();
  EXPECT_EQ(counters(ns, "inet p0fbpf")["sig1"], 1);
  said = ns.nft("-f " + dir + "/p0fbpf.nft", &status);
  ASSERT_EQ(status, 0) << said;
  EXPECT_EQ(counters(ns, "inet p0fbpf")["sig1"], 0);
  send();
  said = ns.nft("reset counters table inet p0fbpf", &status);
  EXPECT_NE(said.find("packets 1 "), std::string::npos) << said;
  EXPECT_EQ(counters(ns, "inet p0fbpf")["sig1"], 0);
}

TEST(NftKernel, LoadingReplacesOnlyItsOwnTable) {
  P0FBPF_REQUIRE(can_run(), "needs root and nft (Debian: nftables)");
  NftNamespaces ns;
  P0FBPF_REQUIRE(ns.ok(), "cannot set up network namespaces");
  int status = 0;
  std::string said = ns.nft("-f " + write_file("foreign.nft",
                                               "table inet mine {\n  chain input {\n    type filter hook input "
                                               "priority filter; policy accept;\n    tcp dport 22 accept\n  }\n}\n"),
                            &status);
  ASSERT_EQ(status, 0) << said;
  testing::Outcome one = testing::run_p0fbpf({"-f", "nft", "-F", kDatabase, "--label", "Linux:3.11 and newer"});
  testing::Outcome two = testing::run_p0fbpf({"-f", "nft", "-F", kDatabase, "--label", "Windows:7 or 8"});
  ASSERT_EQ(one.status, 0) << one.err;
  ASSERT_EQ(two.status, 0) << two.err;
  std::string first = write_file("one.nft", one.out), second = write_file("two.nft", two.out);
  for (int i = 0; i < 2; ++i) {
    said = ns.nft("-f " + first, &status);
    ASSERT_EQ(status, 0) << said;
  }
  std::string tables = ns.nft("list tables");
  EXPECT_EQ(tables, "table inet mine\ntable inet p0fbpf\n");
  EXPECT_EQ(counters(ns, "inet p0fbpf").size(), 2u);  // the label's two signatures
  // Another selection replaces it: its counters only.
  said = ns.nft("-f " + second, &status);
  ASSERT_EQ(status, 0) << said;
  EXPECT_NE(ns.nft("list table inet p0fbpf").find("Windows"), std::string::npos);
  EXPECT_EQ(ns.nft("list table inet p0fbpf").find("Linux:3.11"), std::string::npos);
  // A file cut short changes nothing: cut at the end of each line, with
  // and without its newline, and at seeded byte offsets past the line that
  // makes, deletes and opens the table (a cut inside that line can still
  // delete it).
  const std::string& text = one.out;
  std::vector<std::size_t> cuts;
  for (std::size_t at = text.find('\n'); at != std::string::npos && at + 1 < text.size();
       at = text.find('\n', at + 1)) {
    cuts.push_back(at);
    cuts.push_back(at + 1);
  }
  std::size_t header_end = text.find('\n', text.find("delete table"));
  ASSERT_NE(header_end, std::string::npos);
  std::uint64_t seed = testing::seed_from_env();
  std::printf("P0FBPF_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);
  for (int i = 0; i < 40; ++i) {
    cuts.push_back(std::uniform_int_distribution<std::size_t>(header_end, text.size() - 2)(random));
  }
  const std::string windows = ns.nft("list counters table inet p0fbpf");
  ASSERT_NE(windows.find("Windows"), std::string::npos);
  for (std::size_t cut : cuts) {
    std::string prefix = text.substr(0, cut);
    said = ns.nft("-f " + write_file("cut.nft", prefix), &status);
    // Only a prefix of comments loads: it holds no command.
    bool comments_only = cut <= text.find("\ntable") + 1;
    EXPECT_TRUE(status != 0 || comments_only) << "cut at byte " << cut << " loads";
    ASSERT_EQ(ns.nft("list tables"), "table inet mine\ntable inet p0fbpf\n") << "cut at byte " << cut;
    ASSERT_EQ(ns.nft("list counters table inet p0fbpf"), windows) << "cut at byte " << cut;
  }
  // Deleting ours leaves the foreign table and its rule.
  said = ns.nft("delete table inet p0fbpf", &status);
  ASSERT_EQ(status, 0) << said;
  EXPECT_EQ(ns.nft("list tables"), "table inet mine\n");
  EXPECT_NE(ns.nft("list table inet mine").find("tcp dport 22 accept"), std::string::npos);
}

}  // namespace
}  // namespace p0fbpf
