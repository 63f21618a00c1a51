// shared_packet: whether two exact-mode signatures share a packet. Checked
// on every pair of p0f.fp's request signatures with the compiled programs:
// the packet it names must pass both programs; when it names none, packets
// built to match one signature must all fail the other's program.
#include "p0fbpf/overlap.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "bpf_run.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

namespace p0fbpf {
namespace {

using testing::PacketSpec;

struct Compiled {
  Signature signature;
  BpfProgram program;
};

Compiled compiled(const std::string& text) {
  auto sig = parse_signature(text);
  EXPECT_TRUE(sig) << text;
  CompileOptions options;
  options.verify_each_pass = true;
  Compilation result = compile({{text, ""}}, options);
  EXPECT_TRUE(result.ok()) << text;
  return {sig ? *sig : Signature{}, result.ok() ? *result.program : BpfProgram{}};
}

// Sets the values of the option of `kind` (the first), walking the options.
void set_option(PacketSpec& p, std::uint8_t kind, unsigned value) {
  auto& o = p.tcp_options;
  for (std::size_t at = 0; at < o.size();) {
    if (o[at] == 0) return;
    if (o[at] == 1) {
      ++at;
      continue;
    }
    if (at + 1 >= o.size() || o[at + 1] < 2) return;
    if (o[at] == kind && kind == 2 && at + 3 < o.size()) {
      o[at + 2] = static_cast<std::uint8_t>(value >> 8);
      o[at + 3] = static_cast<std::uint8_t>(value & 0xff);
    }
    if (o[at] == kind && kind == 3 && at + 2 < o.size()) o[at + 2] = static_cast<std::uint8_t>(value);
    at += o[at + 1];
  }
}

// A packet with the shared values, built around one that matches `a`.
std::vector<std::uint8_t> witness(const Signature& a, const SharedPacket& shared, testing::Random& rng) {
  PacketSpec p = testing::matching_packet(a, shared.ip_version == 6, false, rng);
  p.ttl = static_cast<std::uint8_t>(shared.ttl);
  p.window = static_cast<std::uint16_t>(shared.window);
  if (shared.ip_version == 4) p.ip_options.assign(shared.ip_option_length, 1);
  if (!shared.payload) p.payload.clear();
  if (shared.payload && p.payload.empty()) p.payload = {1};
  set_option(p, 2, shared.mss);
  set_option(p, 3, shared.scale);
  return testing::build_packet(p);
}

// Checks the verdict on one pair with the programs; returns it.
bool check_pair(const Compiled& a, const Compiled& b, testing::Random& rng) {
  auto shared = shared_packet(a.signature, b.signature);
  auto reverse = shared_packet(b.signature, a.signature);
  EXPECT_EQ(shared.has_value(), reverse.has_value()) << a.signature.text << " / " << b.signature.text;
  if (shared) {
    auto packet = witness(a.signature, *shared, rng);
    EXPECT_NE(testing::run_bpf(a.program, packet), 0u) << a.signature.text << " / " << b.signature.text;
    EXPECT_NE(testing::run_bpf(b.program, packet), 0u) << a.signature.text << " / " << b.signature.text;
    return true;
  }
  for (int i = 0; i < 20; ++i) {
    for (bool ipv6 : {false, true}) {
      if (a.signature.version == (ipv6 ? IpVersion::V4 : IpVersion::V6)) continue;
      auto packet = testing::build_packet(testing::matching_packet(a.signature, ipv6, false, rng));
      if (testing::run_bpf(a.program, packet) == 0) continue;  // not a packet of a's
      EXPECT_EQ(testing::run_bpf(b.program, packet), 0u) << a.signature.text << " / " << b.signature.text;
    }
  }
  return false;
}

TEST(SharedPacket, HandWrittenPairs) {
  testing::Random rng(1);
  const std::string linux = "4:64:0:1460:mss*10,7:mss,sok,ts,nop,ws:df,id+:0";
  struct Case {
    std::string other;
    bool shared;
  } cases[] = {
      {"*:64:0:*:mss*10,7:mss,sok,ts,nop,ws:df,id+:0", true},   // IPv4 of a `*` signature
      {"*:64:0:*:mss*10,7:mss,sok,ts,nop,ws:df,id+,flow:0", true},  // flow dropped for IPv4
      {"4:64:0:1460:mss*20,7:mss,sok,ts,nop,ws:df,id+:0", false},  // another multiplier
      {"4:64:0:1460:14600,7:mss,sok,ts,nop,ws:df,id+:0", true},   // the same window, as a size
      {"4:64:0:1460:14601,7:mss,sok,ts,nop,ws:df,id+:0", false},
      {"4:64:0:1460:%7300,7:mss,sok,ts,nop,ws:df,id+:0", true},
      {"4:128:0:1460:mss*10,7:mss,sok,ts,nop,ws:df,id+:0", false},  // TTL windows apart
      {"4:64-:0:1460:mss*10,7:mss,sok,ts,nop,ws:df,id+:0", true},
      {"4:64:0:1460:mss*10,7:mss,sok,ts,nop,ws:df:0", false},     // quirks differ
      {"4:64:0:1460:mss*10,7:mss,sok,ts,ws:df,id+:0", false},     // layouts differ
      {"4:64:0:1460:mss*10,*:mss,sok,ts,nop,ws:df,id+:*", true},
      {"4:64:0:1460:mss*10,7:mss,sok,ts,nop,ws:df,id+:+", false},  // payload
      {"6:64:0:1460:mss*10,7:mss,sok,ts,nop,ws::0", false},       // version
      {"4:64:0:*:mtu*4,7:mss,sok,ts,nop,ws:df,id+:0", false},     // mss*10 never mtu*4 at MSS 1460
      {"4:64:0:1460:mtu*4,7:mss,sok,ts,nop,ws:df,id+:0", false},
  };
  Compiled mine = compiled(linux);
  for (const Case& c : cases) {
    Compiled other = compiled(c.other);
    EXPECT_EQ(check_pair(mine, other, rng), c.shared) << c.other;
  }
  // Both MSS free: p0f reads one window as one multiple, never both.
  EXPECT_FALSE(check_pair(compiled("4:64:0:*:mss*4,7:mss,sok,ts,nop,ws:df,id+:0"),
                          compiled("4:64:0:*:mtu*4,7:mss,sok,ts,nop,ws:df,id+:0"), rng));
  // mss*5 at MSS 160 is 800, as mtu*4 would be: p0f reads it as mss*5.
  EXPECT_TRUE(check_pair(compiled("4:64:0:*:mss*5,7:mss,sok,ts,nop,ws:df,id+:0"),
                         compiled("4:64:0:*:800,7:mss,sok,ts,nop,ws:df,id+:0"), rng));
}

TEST(SharedPacket, EveryPairOfP0fRequestSignatures) {
  const char* path = "/etc/p0f/p0f.fp";
  if (!std::ifstream(path).good()) GTEST_SKIP() << path << " not found (apt-get install p0f)";
  std::vector<Compiled> sigs;
  for (const auto& s : testing::tcp_signatures(path)) {
    if (!s.response) sigs.push_back(compiled(s.text));
  }
  ASSERT_GT(sigs.size(), 50u);
  testing::Random rng(2);
  std::size_t shared = 0;
  for (std::size_t i = 0; i < sigs.size(); ++i) {
    for (std::size_t j = i; j < sigs.size(); ++j) shared += check_pair(sigs[i], sigs[j], rng);
  }
  // Each signature shares a packet with itself, and some with others.
  EXPECT_GT(shared, sigs.size());
}

}  // namespace
}  // namespace p0fbpf
