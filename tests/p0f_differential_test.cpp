// The compiled program against the real p0f 3.09b: packets built around
// every TCP signature of p0f.fp, and around p0f's own raw_sig of random
// packets, must get the same verdict from both.

#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "bpf_run.hpp"
#include "p0f_database.hpp"
#include "p0f_oracle.hpp"
#include "p0fbpf/compiler.hpp"
#include "ir/evaluate.hpp"
#include "p0fbpf/packet.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "test_seed.hpp"

namespace p0fbpf::testing {
namespace {

constexpr const char* kDatabase = "/etc/p0f/p0f.fp";

std::vector<TcpSignature> database_signatures() { return tcp_signatures(kDatabase); }

// `fit_within` 1 asks for the smallest form (one branch for both IP
// versions, the window check without its shortcut), 0 for the fastest.
Compilation compile_exact(const std::string& sig, bool response, std::size_t fit_within) {
  CompileOptions options;
  options.verify_each_pass = true;
  options.direction = response ? Direction::Response : Direction::Request;
  options.fit_within = fit_within;
  Compilation c = compile({{sig, ""}}, options);
  if (!c.ok()) {
    std::string why;
    for (const auto& d : c.diagnostics) why += d.render();
    throw std::runtime_error("cannot compile " + sig + ": " + why);
  }
  return c;
}

struct Tally {
  std::size_t packets = 0;
  std::size_t p0f_matches = 0;
  std::vector<std::string> disagreements;
};

// Runs p0f and the program over the same packets; packets of the other IP
// version than a 4: or 6: signature are left to p0fbpf's documented
// deviation and only required to be rejected.
void compare(const std::string& p0f, const std::string& sig, bool response, IpVersion version,
             const std::vector<PacketSpec>& packets, Tally& tally) {
  Compilation fastest = compile_exact(sig, response, 0);
  Compilation smallest = compile_exact(sig, response, 1);
  std::vector<OracleVerdict> verdicts = run_p0f(p0f, packets, sig, response);
  for (std::size_t i = 0; i < packets.size(); ++i) {
    PacketSpec spec = packets[i];
    assign_flow(spec, i, response);
    auto bytes = build_packet(spec);
    bool ours = run_bpf(*fastest.program, bytes) != 0;
    bool ours_small = run_bpf(*smallest.program, bytes) != 0;
    // The third opinion: the IR the programs were generated from.
    for (const Compilation* c : {&fastest, &smallest}) {
      bool by_ir = ir::evaluate(*c->ir, bytes).accepted;
      bool by_bpf = c == &fastest ? ours : ours_small;
      if (by_ir != by_bpf) {
        tally.disagreements.push_back(fmt::format("{}: the {} form's IR {}, its BPF {}; packet {}", sig,
                                                  c == &fastest ? "fastest" : "smallest",
                                                  by_ir ? "matches" : "does not", by_bpf ? "matches" : "does not",
                                                  hex(bytes)));
      }
    }
    if (ours_small != ours) {
      tally.disagreements.push_back(fmt::format("{}: the smallest form {}, the fastest {}; packet {}", sig,
                                                ours_small ? "matches" : "does not", ours ? "matches" : "does not",
                                                hex(bytes)));
    }
    bool other_version = (version == IpVersion::V4 && spec.ipv6) || (version == IpVersion::V6 && !spec.ipv6);
    bool theirs = other_version ? false : verdicts[i].matched;
    ++tally.packets;
    tally.p0f_matches += theirs;
    if (ours != theirs) {
      tally.disagreements.push_back(fmt::format("{} [{}]: p0f {} (raw_sig {}), p0fbpf {}; packet {}", sig,
                                                response ? "response" : "request", theirs ? "matches" : "does not match",
                                                verdicts[i].raw_sig.empty() ? "-" : verdicts[i].raw_sig,
                                                ours ? "matches" : "does not", hex(bytes)));
    }
  }
}

std::vector<PacketSpec> packets_around(const Signature& sig, bool response, Random& rng, int per_version) {
  std::vector<PacketSpec> packets;
  std::vector<bool> versions;
  if (sig.version != IpVersion::V6) versions.push_back(false);
  if (sig.version != IpVersion::V4) versions.push_back(true);
  for (bool v6 : versions) {
    std::vector<PacketSpec> matching;
    for (int i = 0; i < 4; ++i) matching.push_back(matching_packet(sig, v6, response, rng));
    packets.insert(packets.end(), matching.begin(), matching.end());
    for (int i = 0; i < per_version; ++i) {
      PacketSpec p = mutate(matching[static_cast<std::size_t>(i) % matching.size()], rng);
      if (i % 5 == 4) p = mutate(p, rng);
      packets.push_back(p);
    }
  }
  return packets;
}

void report(const Tally& tally, const char* what) {
  fmt::print("{}: {} packets compared with p0f, {} strict p0f matches, {} disagreements\n", what,
             tally.packets, tally.p0f_matches, tally.disagreements.size());
  for (std::size_t i = 0; i < tally.disagreements.size() && i < 15; ++i) {
    ADD_FAILURE() << tally.disagreements[i];
  }
  EXPECT_TRUE(tally.disagreements.empty());
}

// Every test needs p0f and a seeded random source, printed so a failure
// can be repeated.
class P0fDifferential : public ::testing::Test {
 protected:
  void SetUp() override {
    auto found = find_p0f();
    P0FBPF_REQUIRE(found.has_value(), "p0f is not installed (apt-get install p0f)");
    p0f_ = *found;
    std::uint64_t seed = seed_from_env();
    fmt::print("seed {} (set P0FBPF_SEED to repeat)\n", seed);
    rng_.seed(seed);
  }

  std::string p0f_;
  Random rng_;
};

TEST_F(P0fDifferential, EveryTcpSignatureOfP0fDatabase) {
  auto sigs = database_signatures();
  P0FBPF_REQUIRE(!sigs.empty(), std::string("no TCP signatures in ") + kDatabase);
  Tally tally;
  std::size_t without_match = 0;
  for (const auto& entry : sigs) {
    Result<Signature> parsed = parse_signature(entry.text);
    ASSERT_TRUE(parsed.ok()) << kDatabase << ":" << entry.line << ": " << entry.text;
    std::size_t matches_before = tally.p0f_matches;
    compare(p0f_, entry.text, entry.response, parsed->version,
            packets_around(*parsed, entry.response, rng_, 36), tally);
    if (tally.p0f_matches == matches_before) {
      ++without_match;
      fmt::print("no packet matched {}\n", entry.text);
    }
  }
  fmt::print("{} signatures; {} of them got no strictly matching packet\n", sigs.size(), without_match);
  report(tally, "p0f.fp signatures");
  // The test means little unless p0f confirms that most built packets match.
  EXPECT_LT(without_match * 10, sigs.size());
  EXPECT_GT(tally.packets, 10000u);
}

TEST_F(P0fDifferential, RawSignaturesOfRandomPackets) {
  Tally tally;
  std::size_t compiled = 0;
  std::size_t unusable = 0;
  for (bool response : {false, true}) {
    std::vector<PacketSpec> randoms;
    for (int i = 0; i < 900; ++i) {
      PacketSpec p = random_packet(i % 2 == 1, response, rng_);
      // Odd packets too: broken options, stray flags, unusual TTLs.
      if (i % 3 == 2) p = mutate(p, rng_);
      if (i % 9 == 8) p = mutate(p, rng_);
      if (p.ipv6 != (i % 2 == 1)) p.ipv6 = !p.ipv6;
      randoms.push_back(p);
    }
    auto verdicts = run_p0f(p0f_, randoms, "", response);
    std::map<std::string, std::size_t> first_packet;
    for (std::size_t i = 0; i < verdicts.size(); ++i) {
      if (verdicts[i].fingerprinted) first_packet.emplace(verdicts[i].raw_sig, i);
    }
    std::size_t budget = response ? 60 : 120;
    for (const auto& [raw_sig, index] : first_packet) {
      if (budget == 0) break;
      // p0f cannot load these as signatures either: an unknown distance, or
      // an observed TTL of 0.
      if (raw_sig.find("+?") != std::string::npos || raw_sig.find(":0+") == 1) {
        ++unusable;
        continue;
      }
      --budget;
      ++compiled;
      Result<Signature> parsed = parse_signature(raw_sig);
      ASSERT_TRUE(parsed.ok()) << raw_sig << "\n" << render(parsed.error(), raw_sig);
      std::vector<PacketSpec> packets = {randoms[index]};
      for (int i = 0; i < 40; ++i) {
        PacketSpec p = mutate(randoms[index], rng_);
        if (i % 4 == 3) p = mutate(p, rng_);
        packets.push_back(p);
      }
      compare(p0f_, raw_sig, response, parsed->version, packets, tally);
    }
  }
  fmt::print("{} raw_sigs compiled, {} skipped (unknown distance or TTL 0)\n", compiled, unusable);
  report(tally, "random raw_sigs");
  EXPECT_GT(compiled, 60u);
}

// Signatures drawn from the whole grammar, for what p0f.fp and real stacks
// rarely show: %K, N-, mtu*, sack, ?N, eol+N with opt+, bad, pclass *...
Signature random_signature(Random& rng, std::string& text) {
  auto pick = [&](unsigned lo, unsigned hi) { return std::uniform_int_distribution<unsigned>(lo, hi)(rng); };
  while (true) {
    std::string ver = std::vector<std::string>{"4", "6", "*"}[pick(0, 2)];
    unsigned ttl = std::vector<unsigned>{32, 64, 128, 255, 60}[pick(0, 4)];
    std::string ittl = std::to_string(ttl) + (pick(0, 3) == 0 ? "-" : "");
    // Any version: p0f compares an IPv6 packet's option length (0) too.
    std::string olen = pick(0, 4) == 0 ? "4" : "0";
    std::string mss = pick(0, 1) ? "*" : std::to_string(std::vector<unsigned>{1460, 1400, 536, 1331, 99}[pick(0, 4)]);
    std::string win;
    switch (pick(0, 4)) {
      case 0: win = "*"; break;
      case 1: win = std::to_string(std::vector<unsigned>{65535, 8192, 1337, 14600}[pick(0, 3)]); break;
      case 2: win = "mss*" + std::to_string(pick(1, 44)); break;
      case 3: win = "mtu*" + std::to_string(pick(1, 10)); break;
      default: win = "%" + std::to_string(std::vector<unsigned>{512, 1024, 8192, 3}[pick(0, 3)]); break;
    }
    std::string scale = pick(0, 2) == 0 ? "*" : std::to_string(pick(0, 16));
    static const std::vector<std::string> palette = {"mss", "nop", "ws", "sok", "ts", "sack", "?30", "nop", "mss"};
    std::string layout;
    unsigned count = pick(0, 6);
    for (unsigned i = 0; i < count; ++i) layout += (i ? "," : "") + palette[pick(0, static_cast<unsigned>(palette.size() - 1))];
    if (pick(0, 3) == 0) layout += std::string(layout.empty() ? "" : ",") + "eol+" + std::to_string(pick(0, 9));
    std::vector<std::string> quirks;
    auto maybe = [&](const char* q, unsigned odds) { if (pick(0, odds) == 0) quirks.push_back(q); };
    if (ver != "6") { maybe("df", 1); maybe("id+", 2); maybe("id-", 6); maybe("0+", 9); }
    if (ver != "4") maybe("flow", 4);
    maybe("ecn", 6); maybe("seq-", 9); maybe("ack+", 6); maybe("uptr+", 9); maybe("urgf+", 9);
    maybe("pushf+", 9); maybe("ts1-", 6); maybe("ts2+", 6); maybe("opt+", 4); maybe("exws", 6); maybe("bad", 3);
    std::string quirk_text;
    for (std::size_t i = 0; i < quirks.size(); ++i) quirk_text += (i ? "," : "") + quirks[i];
    std::string pclass = std::vector<std::string>{"0", "+", "*"}[pick(0, 2)];
    text = ver + ":" + ittl + ":" + olen + ":" + mss + ":" + win + "," + scale + ":" + layout + ":" + quirk_text + ":" + pclass;
    Result<Signature> parsed = parse_signature(text);
    if (parsed.ok()) return *parsed;
  }
}

TEST_F(P0fDifferential, SignaturesFromTheWholeGrammar) {
  Tally tally;
  for (int i = 0; i < 160; ++i) {
    std::string text;
    Signature sig = random_signature(rng_, text);
    bool response = i % 4 == 3;
    compare(p0f_, text, response, sig.version, packets_around(sig, response, rng_, 24), tally);
  }
  report(tally, "signatures from the grammar");
  EXPECT_GT(tally.p0f_matches, 50u);
}

// `p0fbpf test` counts what p0f strictly matches, on Ethernet and raw IP
// captures alike.
// IPv6 packets that would match but for a signature's IP option length:
// p0f reads theirs as 0 and compares it.
TEST_F(P0fDifferential, IpOptionLengthOnIpv6) {
  Tally tally;
  for (const char* olen : {"0", "4", "8"}) {
    std::string sig = fmt::format("*:64:{}:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0", olen);
    Result<Signature> twin = parse_signature("*:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0");
    ASSERT_TRUE(twin.ok());
    std::vector<PacketSpec> packets;
    for (int i = 0; i < 6; ++i) packets.push_back(matching_packet(*twin, true, false, rng_));
    compare(p0f_, sig, false, IpVersion::Any, packets, tally);
  }
  report(tally, "IPv6 packets and olen");
  EXPECT_GT(tally.p0f_matches, 0u);
}

TEST_F(P0fDifferential, TestCommandCountsP0fsMatches) {
  auto sigs = database_signatures();
  P0FBPF_REQUIRE(!sigs.empty(), std::string("no TCP signatures in ") + kDatabase);
  std::string capture = ::testing::TempDir() + "p0fbpf_test_command_" + std::to_string(getpid()) + ".pcap";
  std::size_t runs = 0;
  for (std::size_t i = 0; i < sigs.size(); i += 10) {
    const auto& entry = sigs[i];
    if (entry.response) continue;
    Result<Signature> parsed = parse_signature(entry.text);
    ASSERT_TRUE(parsed.ok());
    for (bool raw_ip : {false, true}) {
      auto verdicts = run_p0f(p0f_, packets_around(*parsed, false, rng_, 60), entry.text, false, raw_ip, capture);
      std::size_t p0f_matches = 0;
      for (const auto& v : verdicts) p0f_matches += v.matched;
      std::string command = std::string(P0FBPF_BINARY) + " test -r " + capture + " '" + entry.text + "'";
      FILE* pipe = popen(command.c_str(), "r");
      char line[256] = {};
      ASSERT_NE(fgets(line, sizeof line, pipe), nullptr);
      pclose(pipe);
      EXPECT_EQ(std::string(line), fmt::format("{} of {} packets matched\n", p0f_matches, verdicts.size()))
          << entry.text << (raw_ip ? " (raw IP)" : " (Ethernet)");
      ++runs;
    }
  }
  std::remove(capture.c_str());
  EXPECT_GE(runs, 20u);
}

// The link captures p0f reads itself (it finds the IP header of SLL2, whose
// link type it does not know, by looking for one) give the raw_sigs p0f
// prints for them; it reads no VLAN-tagged frame and no DLT_LOOP one.
TEST_F(P0fDifferential, LinkCapturesGiveP0fsRawSignatures) {
  for (const char* link : {"raw", "linux-sll", "linux-sll2"}) {
    const std::string path = std::string(P0FBPF_TEST_DATA) + "/fixtures/links/" + link + ".pcap";
    std::multiset<std::string> theirs, ours;
    FILE* pipe = popen((p0f_ + " -r " + path + " 2>/dev/null").c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char line[512];
    while (fgets(line, sizeof line, pipe)) {
      std::string text = line;
      if (text.find("raw_sig") == std::string::npos) continue;
      text = text.substr(text.find('=') + 2);
      theirs.insert(text.substr(0, text.find_last_not_of("\n") + 1));
    }
    pclose(pipe);
    pipe = popen((std::string(P0FBPF_BINARY) + " fingerprint -r " + path).c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    // COUNT  SIGNATURE  LABEL a line: the label is not compared here.
    unsigned count = 0;
    char sig[512];
    while (fgets(line, sizeof line, pipe)) {
      if (sscanf(line, "%u %511s", &count, sig) != 2) continue;
      for (unsigned i = 0; i < count; ++i) ours.insert(sig);
    }
    pclose(pipe);
    EXPECT_EQ(theirs.size(), 18u) << link;
    EXPECT_EQ(ours, theirs) << link;
  }
}

// p0fbpf fingerprint prints p0f's raw_sig: the packet model must derive the
// same string, and fingerprint the same packets, as p0f does.
TEST_F(P0fDifferential, RawSignaturesAreP0fs) {
  std::size_t compared = 0, agreed = 0;
  std::vector<std::string> differences;
  for (bool response : {false, true}) {
    std::vector<PacketSpec> packets;
    for (int i = 0; i < 3000; ++i) {
      PacketSpec p = random_packet(i % 2 == 1, response, rng_);
      if (i % 2 == 0) p = mutate(p, rng_);
      if (i % 5 == 0) p = mutate(p, rng_);
      packets.push_back(p);
    }
    auto verdicts = run_p0f(p0f_, packets, "", response);
    for (std::size_t i = 0; i < packets.size(); ++i) {
      PacketSpec spec = packets[i];
      assign_flow(spec, i, response);
      auto bytes = build_packet(spec);
      auto facts = analyze_packet(bytes.data(), bytes.size());
      bool ours = facts && (response ? facts->is_syn_ack() : facts->is_syn());
      std::string sig = ours ? raw_signature(*facts) : "";
      ++compared;
      if (ours == verdicts[i].fingerprinted && sig == verdicts[i].raw_sig) {
        ++agreed;
      } else if (differences.size() < 10) {
        differences.push_back(fmt::format("p0f {} '{}', p0fbpf {} '{}'; packet {}",
                                          verdicts[i].fingerprinted ? "fingerprints" : "skips",
                                          verdicts[i].raw_sig, ours ? "fingerprints" : "skips", sig, hex(bytes)));
      }
    }
  }
  fmt::print("raw_sig of {} packets compared with p0f, {} agree\n", compared, agreed);
  for (const auto& d : differences) ADD_FAILURE() << d;
  EXPECT_EQ(agreed, compared);
}

}  // namespace
}  // namespace p0fbpf::testing
