#include "pipeline.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "bpf_run.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

namespace p0fbpf {
namespace {

// -O1 and -O0 accept the same packets: matching, near-miss and random ones,
// for every TCP signature of p0f.fp and the examples.
TEST(Optimize, SameVerdictsAsUnoptimized) {
  std::vector<std::pair<std::string, bool>> sigs;
  for (const char* path : {"/etc/p0f/p0f.fp", P0FBPF_TEST_DATA "/../signatures/examples.fp"}) {
    for (const auto& s : testing::tcp_signatures(path)) sigs.emplace_back(s.text, s.response);
  }
  ASSERT_GE(sigs.size(), 5u);
  testing::Random rng(4242);
  std::size_t packets = 0, matched = 0;
  for (const auto& [text, response] : sigs) {
    Signature sig = *parse_signature(text);
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      for (LinkType link : {LinkType::Raw, LinkType::Ethernet}) {
        CompileOptions options;
        options.verify_each_pass = true;
        options.mode = mode;
        options.direction = response ? Direction::Response : Direction::Request;
        options.link.type = link;
        options.optimize = false;
        BpfProgram plain = *compile({{text, ""}}, options).program;
        // Within the unoptimized program's size: the fastest program is
        // larger behind Ethernet (a copy per 802.1Q layout), and gives way
        // to a smaller form that fits.
        options.optimize = true;
        options.fit_within = plain.instructions.size();
        BpfProgram optimized = *compile({{text, ""}}, options).program;
        EXPECT_LE(optimized.instructions.size(), plain.instructions.size()) << text;
        for (int i = 0; i < 24; ++i) {
          bool v6 = sig.version == IpVersion::V6 || (sig.version == IpVersion::Any && i % 2);
          testing::PacketSpec p = i % 6 == 5 ? testing::random_packet(v6, response, rng)
                                             : testing::matching_packet(sig, v6, response, rng);
          if (i % 3 != 0) p = testing::mutate(p, rng);
          auto bytes = testing::build_packet(p);
          if (link == LinkType::Ethernet) bytes = testing::ethernet_frame(bytes, p.ipv6);
          bool a = testing::run_bpf(optimized, bytes) != 0;
          ASSERT_EQ(a, testing::run_bpf(plain, bytes) != 0) << text;
          ++packets;
          matched += a;
        }
      }
    }
  }
  std::printf("%zu packets, %zu accepted, same verdicts optimized and not\n", packets, matched);
  EXPECT_GT(matched, packets / 10);
}

}  // namespace
}  // namespace p0fbpf
