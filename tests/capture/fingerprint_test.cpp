// Counting raw signatures: counts, the order they are listed in, and the
// text of each, against p0fbpf's raw_sig of the packet itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capture/most_fingerprints.hpp"
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

std::vector<Listed> listed(SignatureCounter& counter, std::size_t top = 0) {
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

TEST(SignatureCounter, CountsFarAboveTheNumberOfSignaturesListInOrder) {
  // Two signatures seen many times more often than there are signatures.
  SignatureCounter counter;
  for (int i = 0; i < 40; ++i) counter.add(syn(500));
  counter.add(syn(600));
  for (int i = 0; i < 40; ++i) counter.add(syn(700));
  for (int i = 0; i < 3; ++i) counter.add(syn(800));
  std::vector<Listed> expected = {{40, raw_signature(syn(500))},
                                  {40, raw_signature(syn(700))},
                                  {3, raw_signature(syn(800))},
                                  {1, raw_signature(syn(600))}};
  EXPECT_EQ(listed(counter), expected);
}

TEST(SignatureCounter, SizedForManyOrFewListsTheSame) {
  SignatureCounter unsized;
  SignatureCounter sized(100000);
  SignatureCounter undersized(10);
  for (std::uint16_t w = 1; w <= 3000; ++w) {
    for (SignatureCounter* counter : {&unsized, &sized, &undersized}) {
      counter->add(syn(static_cast<std::uint16_t>(w % 1000 + 1), static_cast<std::uint8_t>(40 + w % 7)));
    }
  }
  // w mod 1,000 and w mod 7 repeat together only every 7,000 steps: 3,000
  // distinct signatures, well past the undersized table's first size.
  ASSERT_EQ(unsized.distinct(), 3000u);
  EXPECT_EQ(sized.distinct(), 3000u);
  EXPECT_EQ(undersized.distinct(), 3000u);
  EXPECT_EQ(listed(sized), listed(unsized));
  EXPECT_EQ(listed(undersized), listed(unsized));
}

TEST(MostFingerprints, BoundsTheSynsACaptureFileCanHold) {
  // A pcap file: a 24-byte header, then a 16-byte header per record; the
  // smallest SYN is a raw IPv4 packet of 40 bytes.
  for (std::uint64_t syns : {0u, 1u, 1000u, 123457u}) {
    EXPECT_GE(most_fingerprints(24 + syns * (16 + 40)), syns);
  }
  // An estimate, not an absurd one: no room for a second thousand.
  EXPECT_LT(most_fingerprints(24 + 1000 * (16 + 40)), 2000u);
}

}  // namespace
}  // namespace p0fbpf
