// Replays the committed capture and compares each packet's verdict with the
// one p0f gave when the fixture was made.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <fstream>
#include <sstream>

#include "p0fbpf/compiler.hpp"

namespace p0fbpf {
namespace {

struct Expected {
  std::vector<std::string> signatures;
  std::vector<std::pair<std::string, std::string>> packets;  // verdicts, description
};

Expected read_expected(const std::string& path) {
  Expected e;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("signature ", 0) == 0) e.signatures.push_back(line.substr(10));
    if (line.rfind("packet ", 0) == 0) {
      std::string rest = line.substr(7);
      std::size_t space = rest.find(' ');
      e.packets.emplace_back(rest.substr(0, space), rest.substr(space + 1));
    }
  }
  return e;
}

TEST(Fixture, SynMixVerdictsMatchP0f) {
  const std::string dir = std::string(P0FBPF_TEST_DATA) + "/fixtures/";
  Expected expected = read_expected(dir + "syn-mix.expected");
  ASSERT_EQ(expected.signatures.size(), 3u);
  ASSERT_GE(expected.packets.size(), 20u);

  for (std::size_t s = 0; s < expected.signatures.size(); ++s) {
    CompileOptions options;
    options.verify_each_pass = true;
    options.link.type = LinkType::Ethernet;  // the capture is
    Compilation c = compile({{expected.signatures[s], ""}}, options);
    ASSERT_TRUE(c.ok());
    char error[PCAP_ERRBUF_SIZE];
    pcap_t* pcap = pcap_open_offline((dir + "syn-mix.pcap").c_str(), error);
    ASSERT_NE(pcap, nullptr) << error;
    pcap_pkthdr* header;
    const u_char* data;
    std::size_t i = 0, matched = 0;
    while (pcap_next_ex(pcap, &header, &data) == 1) {
      ASSERT_LT(i, expected.packets.size());
      bool ours = bpf_filter(c.program->instructions.data(), data, header->len, header->caplen) != 0;
      bool theirs = expected.packets[i].first[s] == '+';
      matched += ours;
      EXPECT_EQ(ours, theirs) << expected.signatures[s] << ": packet " << i + 1 << ", "
                              << expected.packets[i].second;
      ++i;
    }
    pcap_close(pcap);
    EXPECT_EQ(i, expected.packets.size());
    EXPECT_GT(matched, 0u) << expected.signatures[s];
  }
}

}  // namespace
}  // namespace p0fbpf
