// suggest: each widened field alone, the collateral rule and the greedy
// cover. Every claim is checked against the compiled programs run over the
// same packets (the `test` command's way of matching), not against the
// search's own matching.
#include "p0fbpf/suggest.hpp"

#include <gtest/gtest.h>

#include <random>

#include "bpf_run.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/fingerprint.hpp"
#include "p0fbpf/parser.hpp"
#include "packet_builder.hpp"
#include "stack_syns.hpp"

namespace p0fbpf {
namespace {

using testing::PacketSpec;
using Packets = std::vector<std::vector<std::uint8_t>>;

using testing::linux_syn;
using testing::scanner_syn;

SynSample sample(const Packets& packets) {
  SynSample out;
  for (const auto& packet : packets) {
    auto facts = fingerprint_facts(LinkType::Raw, packet.data(), packet.size(), Direction::Request);
    EXPECT_TRUE(facts) << "not a SYN p0f reads";
    if (facts) out.add(*facts);
  }
  return out;
}

BpfProgram compiled(const std::vector<std::string>& signatures) {
  std::vector<SignatureSource> sources;
  for (const auto& s : signatures) sources.push_back({s, ""});
  CompileOptions options;
  options.verify_each_pass = true;
  Compilation result = compile(sources, options);
  EXPECT_TRUE(result.ok()) << signatures.front();
  return result.ok() ? *result.program : BpfProgram{};
}

std::size_t matches(const BpfProgram& program, const Packets& packets) {
  std::size_t n = 0;
  for (const auto& packet : packets) n += testing::run_bpf(program, packet) != 0;
  return n;
}

// Runs suggest and checks every count it claims with the compiled programs.
Suggestion checked_suggest(const Packets& attack, const Packets& baseline, SuggestOptions options = {}) {
  Suggestion s = suggest(sample(attack), sample(baseline), options);
  EXPECT_EQ(s.attack_syns, attack.size());
  EXPECT_EQ(s.baseline_syns, baseline.size());
  EXPECT_LE(s.signatures.size(), options.max_signatures);
  std::vector<std::string> texts;
  for (const auto& sig : s.signatures) {
    texts.push_back(sig.text);
    BpfProgram alone = compiled({sig.text});
    EXPECT_EQ(matches(alone, attack), sig.attack_matched) << sig.text;
    EXPECT_EQ(matches(alone, baseline), sig.baseline_hits) << sig.text;
  }
  if (!texts.empty()) {
    BpfProgram together = compiled(texts);
    EXPECT_EQ(matches(together, attack), s.covered);
    EXPECT_EQ(matches(together, baseline), s.baseline_hit);
  } else {
    EXPECT_EQ(s.covered, 0u);
  }
  EXPECT_LE(s.baseline_hit, s.allowance);
  return s;
}

Packets build(const std::vector<PacketSpec>& specs) {
  Packets out;
  for (const auto& spec : specs) out.push_back(testing::build_packet(spec));
  return out;
}

Signature parsed(const std::string& text) {
  auto sig = parse_signature(text);
  EXPECT_TRUE(sig) << text;
  return sig ? *sig : Signature{};
}

TEST(Suggest, TtlsScatteredBelowOneInitialTtlGiveItsWindow) {
  std::vector<PacketSpec> attack;
  for (unsigned ttl = 40; ttl <= 64; ++ttl) attack.push_back(linux_syn(ttl, 1460, 29200, 7));
  // The same stack, further away than p0f's window of 64 reaches.
  Suggestion s = checked_suggest(build(attack), build({linux_syn(20, 1460, 29200, 7)}));
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.covered, attack.size());
  EXPECT_EQ(s.baseline_hit, 0u);
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_EQ(sig.ttl.kind, InitialTtl::Kind::Window);
  EXPECT_EQ(sig.ttl.initial, 64u);
  // Nothing else varied: nothing else is widened.
  EXPECT_EQ(sig.mss.value, 1460u);
  EXPECT_EQ(sig.scale.value, 7u);
  EXPECT_NE(sig.window.kind, WindowSize::Kind::Any);
}

TEST(Suggest, TheTtlWindowReachesThirtyFiveBelowItsTop) {
  // 29..64 is exactly the window of 64; 28 is outside it.
  std::vector<PacketSpec> attack;
  for (unsigned ttl = 29; ttl <= 64; ++ttl) attack.push_back(linux_syn(ttl, 1460, 29200, 7));
  Suggestion s = checked_suggest(build(attack), build({linux_syn(28, 1460, 29200, 7)}));
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.covered, 36u);
  EXPECT_EQ(s.baseline_hit, 0u);
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_EQ(sig.ttl.kind, InitialTtl::Kind::Window);
  EXPECT_EQ(sig.ttl.initial, 64u);
}

TEST(Suggest, RandomTtlsGiveTheRandomForm) {
  std::vector<PacketSpec> attack;
  for (unsigned ttl = 1; ttl <= 255; ++ttl) attack.push_back(scanner_syn(ttl, 1024));
  Suggestion s = checked_suggest(build(attack), {});
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.covered, attack.size());
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_EQ(sig.ttl.kind, InitialTtl::Kind::Random);
  EXPECT_EQ(sig.ttl.initial, 255u);
  EXPECT_EQ(sig.window.kind, WindowSize::Kind::Exact);
  EXPECT_EQ(sig.window.value, 1024u);
}

TEST(Suggest, WindowsThatFollowTheMssGiveMssTimesN) {
  std::vector<PacketSpec> attack;
  for (unsigned mss : {1460u, 1400u, 1360u, 1220u}) attack.push_back(linux_syn(64, mss, mss * 10, 7));
  Suggestion s = checked_suggest(build(attack), {});
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.covered, attack.size());
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_EQ(sig.window.kind, WindowSize::Kind::MssMultiple);
  EXPECT_EQ(sig.window.value, 10u);
  EXPECT_FALSE(sig.mss.value);
}

TEST(Suggest, WindowsThatFollowTheMtuGiveMtuTimesN) {
  std::vector<PacketSpec> attack;
  for (unsigned mss : {1460u, 1400u, 1360u, 1220u}) attack.push_back(scanner_syn(64, (mss + 40) * 4, mss));
  Suggestion s = checked_suggest(build(attack), {});
  ASSERT_EQ(s.signatures.size(), 1u);
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_EQ(sig.window.kind, WindowSize::Kind::MtuMultiple);
  EXPECT_EQ(sig.window.value, 4u);
  EXPECT_FALSE(sig.mss.value);
}

TEST(Suggest, ConstantWindowStaysAConstant) {
  std::vector<PacketSpec> attack;
  for (unsigned mss : {1460u, 1400u, 1360u}) attack.push_back(linux_syn(64, mss, 5840, 2));
  Suggestion s = checked_suggest(build(attack), {});
  ASSERT_EQ(s.signatures.size(), 1u);
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_EQ(sig.window.kind, WindowSize::Kind::Exact);
  EXPECT_EQ(sig.window.value, 5840u);
  EXPECT_FALSE(sig.mss.value);  // the MSS varied
  EXPECT_EQ(sig.scale.value, 2u);
}

TEST(Suggest, RandomWindowsGiveAStar) {
  std::mt19937 rng(7);
  std::vector<PacketSpec> attack;
  for (int i = 0; i < 200; ++i) attack.push_back(scanner_syn(50, 1 + rng() % 65535));
  Suggestion s = checked_suggest(build(attack), {});
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.covered, attack.size());
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_EQ(sig.window.kind, WindowSize::Kind::Any);
  EXPECT_EQ(sig.ttl.initial, 64u);
}

TEST(Suggest, VaryingScaleGivesAStar) {
  std::vector<PacketSpec> attack;
  for (unsigned scale = 0; scale <= 14; ++scale) attack.push_back(linux_syn(64, 1460, 64240, scale));
  Suggestion s = checked_suggest(build(attack), {});
  ASSERT_EQ(s.signatures.size(), 1u);
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_FALSE(sig.scale.value);
  EXPECT_EQ(sig.mss.value, 1460u);
}

TEST(Suggest, TheBaselineKeepsAFieldFromWidening) {
  // Scales 0..7 in the attack; the same stack with scale 8 is a customer.
  std::vector<PacketSpec> attack;
  for (unsigned scale = 0; scale <= 7; ++scale) attack.push_back(linux_syn(64, 1460, 64240, scale));
  Suggestion s = checked_suggest(build(attack), build({linux_syn(64, 1460, 64240, 8)}));
  EXPECT_EQ(s.baseline_hit, 0u);
  // Each signature keeps the scale exact, and at most 4 of the 8 scales fit.
  EXPECT_EQ(s.signatures.size(), 4u);
  EXPECT_EQ(s.covered, 4u);
  for (const auto& sig : s.signatures) EXPECT_TRUE(parsed(sig.text).scale.value) << sig.text;
}

TEST(Suggest, IdenticalBaselineSynsAreInseparable) {
  Packets attack = build({linux_syn(64, 1460, 29200, 7), linux_syn(60, 1460, 29200, 7), scanner_syn(50, 1024)});
  Packets baseline = build({linux_syn(55, 1460, 29200, 7)});
  Suggestion strict = checked_suggest(attack, baseline);
  EXPECT_EQ(strict.inseparable, 2u);
  EXPECT_EQ(strict.inseparable_example_hits, 1u);
  EXPECT_EQ(strict.covered, 1u);  // the scanner only
  EXPECT_EQ(strict.baseline_hit, 0u);
  // With one baseline SYN in 1 allowed, the Linux-like SYNs are covered too.
  Suggestion lax = checked_suggest(attack, baseline, {4, 1.0});
  EXPECT_EQ(lax.inseparable, 0u);
  EXPECT_EQ(lax.allowance, 1u);
  EXPECT_EQ(lax.covered, 3u);
  EXPECT_EQ(lax.baseline_hit, 1u);
}

TEST(Suggest, CollateralIsAShareOfTheBaseline) {
  std::vector<PacketSpec> baseline;
  for (int i = 0; i < 100; ++i) baseline.push_back(linux_syn(64, 1460, 29200, 7));
  Suggestion s = checked_suggest(build({linux_syn(64, 1460, 29200, 7)}), build(baseline), {4, 0.01});
  EXPECT_EQ(s.allowance, 1u);
  EXPECT_EQ(s.covered, 0u);
  EXPECT_EQ(s.inseparable, 1u);
  EXPECT_EQ(s.inseparable_example_hits, 100u);
}

TEST(Suggest, TwoStacksTwoSignaturesLargestFirst) {
  std::vector<PacketSpec> attack;
  for (unsigned ttl = 40; ttl <= 64; ++ttl) attack.push_back(linux_syn(ttl, 1460, 29200, 7));
  for (unsigned ttl = 100; ttl <= 110; ++ttl) attack.push_back(scanner_syn(ttl, 1024));
  Suggestion s = checked_suggest(build(attack), {});
  ASSERT_EQ(s.signatures.size(), 2u);
  EXPECT_EQ(s.covered, attack.size());
  EXPECT_EQ(s.signatures[0].attack_matched, 25u);
  EXPECT_EQ(s.signatures[1].attack_matched, 11u);
  Suggestion one = checked_suggest(build(attack), {}, {1, 0});
  ASSERT_EQ(one.signatures.size(), 1u);
  EXPECT_EQ(one.covered, 25u);
}

TEST(Suggest, Ipv6AndPayloadStayExact) {
  PacketSpec v6 = linux_syn(64, 1440, 28800, 7);
  v6.ipv6 = true;
  PacketSpec with_data = scanner_syn(64, 1024);
  with_data.payload = {1, 2, 3};
  Suggestion s = checked_suggest(build({v6, with_data}), {});
  ASSERT_EQ(s.signatures.size(), 2u);
  EXPECT_EQ(s.covered, 2u);
  std::vector<Signature> sigs = {parsed(s.signatures[0].text), parsed(s.signatures[1].text)};
  EXPECT_EQ(std::count_if(sigs.begin(), sigs.end(), [](const Signature& g) { return g.version == IpVersion::V6; }), 1);
  EXPECT_EQ(std::count_if(sigs.begin(), sigs.end(), [](const Signature& g) { return g.payload == PayloadClass::NonZero; }),
            1);
}

TEST(Suggest, AStraySynDoesNotWidenATool) {
  // 2,000 SYNs of one stack and one of the same layout with another window
  // and scale: one in 2,001 is within the 1 in 1,000 a narrower signature
  // may leave out.
  std::vector<PacketSpec> attack(2000, linux_syn(64, 1460, 29200, 7));
  attack.push_back(linux_syn(64, 1460, 4000, 3));
  Suggestion s = checked_suggest(build(attack), {}, {1, 0});
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.covered, 2000u);
  Signature sig = parsed(s.signatures[0].text);
  EXPECT_EQ(sig.scale.value, 7u);
  EXPECT_NE(sig.window.kind, WindowSize::Kind::Any);
  // Two stray SYNs in 1,001 are more than that: the window widens.
  std::vector<PacketSpec> small(999, linux_syn(64, 1460, 29200, 7));
  small.push_back(linux_syn(64, 1460, 4000, 7));
  small.push_back(linux_syn(64, 1460, 5000, 7));
  Suggestion wide = checked_suggest(build(small), {}, {1, 0});
  ASSERT_EQ(wide.signatures.size(), 1u);
  EXPECT_EQ(wide.covered, 1001u);
  EXPECT_EQ(parsed(wide.signatures[0].text).window.kind, WindowSize::Kind::Any);
}

TEST(Suggest, ManyDistinctSynsStayBounded) {
  // Random TTL, window, MSS and scale over one layout: a single signature
  // covers them all, found without enumerating their combinations.
  std::mt19937 rng(11);
  std::vector<PacketSpec> attack;
  for (int i = 0; i < 5000; ++i) {
    attack.push_back(linux_syn(1 + rng() % 255, 100 + rng() % 1400, 1 + rng() % 65535, rng() % 15));
  }
  Suggestion s = checked_suggest(build(attack), {});
  ASSERT_EQ(s.signatures.size(), 1u);
  EXPECT_EQ(s.covered, attack.size());
}

}  // namespace
}  // namespace p0fbpf
