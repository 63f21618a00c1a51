// Counting raw signatures: counts, the order they are listed in, and the
// text of each, against p0fbpf's raw_sig of the packet itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "p0fbpf/fingerprint.hpp"
#include "packet_builder.hpp"

namespace p0fbpf {
namespace {

// A SYN whose raw_sig differs with the window size (shown as a constant:
// no MSS option) and the TTL.
PacketFacts syn(std::uint16_t window, std::uint8_t ttl = 64) {
  testing::PacketSpec spec;
  spec.window = window;
  spec.ttl = ttl;
  spec.tcp_options = {4, 2};  // sackOK: no MSS, so no multiplier
  std::vector<std::uint8_t> bytes = testing::build_packet(spec);
  std::optional<PacketFacts> facts = analyze_packet(bytes.data(), bytes.size());
  EXPECT_TRUE(facts.has_value());
  return *facts;
}

struct Listed {
  std::size_t count;
  std::string signature;
  bool operator==(const Listed&) const = default;
};

std::vector<Listed> listed(const SignatureCounter& counter, std::size_t top = 0) {
  std::vector<Listed> out;
  for (std::uint32_t index : counter.most_frequent(top)) {
    std::string text;
    counter.append_signature(index, text);
    out.push_back({counter.count(index), text});
  }
  return out;
}

TEST(SignatureCounter, MostFrequentFirstTiesInTheOrderFirstSeen) {
  SignatureCounter counter;
  for (std::uint16_t w : {100, 200, 300, 100, 400, 300, 400, 100, 300}) counter.add(syn(w));
  EXPECT_EQ(counter.distinct(), 4u);
  std::vector<Listed> expected = {{3, raw_signature(syn(100))},
                                  {3, raw_signature(syn(300))},
                                  {2, raw_signature(syn(400))},
                                  {1, raw_signature(syn(200))}};
  EXPECT_EQ(listed(counter), expected);
  EXPECT_NE(expected[0].signature, expected[1].signature);
  expected.resize(2);
  EXPECT_EQ(listed(counter, 2), expected);
  EXPECT_EQ(listed(counter, 10).size(), 4u);
}

TEST(SignatureCounter, ThousandsOfDistinctSignaturesKeepTheirCounts) {
  // Past the table's first size many times over.
  SignatureCounter counter;
  std::vector<PacketFacts> packets;
  for (std::uint16_t w = 1; w <= 50; ++w) {
    for (std::uint8_t ttl = 30; ttl < 130; ++ttl) packets.push_back(syn(static_cast<std::uint16_t>(w * 7), ttl));
  }
  for (const PacketFacts& p : packets) counter.add(p);
  for (std::size_t i = packets.size(); i-- > 0;) {
    if (i % 3 == 0) counter.add(packets[i]);  // a third seen twice, counted from the end
  }
  ASSERT_EQ(counter.distinct(), packets.size());
  std::vector<Listed> list = listed(counter);
  ASSERT_EQ(list.size(), packets.size());
  std::size_t k = 0;
  for (std::size_t i = 0; i < packets.size(); i += 3) EXPECT_EQ(list[k++], (Listed{2, raw_signature(packets[i])}));
  for (std::size_t i = 0; i < packets.size(); ++i) {
    if (i % 3 != 0) {
      EXPECT_EQ(list[k++], (Listed{1, raw_signature(packets[i])}));
    }
  }
}

}  // namespace
}  // namespace p0fbpf
