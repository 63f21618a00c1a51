// MuonFP and Satori strings to p0f signatures (src/frontend/convert.cpp):
// the public examples of each format convert to signatures whose programs
// match packets built to those strings, and not their near misses; a
// malformed string's diagnostic points at its fault; a bare string of
// either format given as a p0f signature names the format and convert.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "bpf_run.hpp"
#include "packet_builder.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/convert.hpp"
#include "p0fbpf/parser.hpp"

namespace p0fbpf::testing {
namespace {

// A SYN as a MuonFP string describes it: the option kinds in order, with
// the MSS and scale given, a timestamp with ts1 set; the rest of the
// options area zero after an EOL. No DF, a non-zero ID: no quirks at all.
PacketSpec muonfp_packet(std::uint16_t window, const std::vector<int>& kinds, int mss, int scale) {
  PacketSpec p;
  p.ttl = 57;
  p.ip_id = 4321;
  p.fragment = 0;
  p.window = window;
  for (int kind : kinds) {
    switch (kind) {
      case 0: p.tcp_options.push_back(0); return p;  // the builder pads with zeros
      case 1: p.tcp_options.push_back(1); break;
      case 2: p.tcp_options.insert(p.tcp_options.end(), {2, 4, std::uint8_t(mss >> 8), std::uint8_t(mss)}); break;
      case 3: p.tcp_options.insert(p.tcp_options.end(), {3, 3, std::uint8_t(scale)}); break;
      case 4: p.tcp_options.insert(p.tcp_options.end(), {4, 2}); break;
      case 8: p.tcp_options.insert(p.tcp_options.end(), {8, 10, 0, 0, 1, 0, 0, 0, 0, 0}); break;
      default: ADD_FAILURE() << "no builder for option " << kind;
    }
  }
  return p;
}

std::string converted(std::string_view text, ForeignFormat format) {
  Result<std::string> r = convert_signature(text, format);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : "";
}

BpfProgram program_of(const std::string& signature, MatchMode mode) {
  CompileOptions options;
  options.mode = mode;
  options.verify_each_pass = true;
  Compilation c = compile({{signature, ""}}, options);
  if (!c.ok()) throw std::runtime_error("does not compile: " + signature);
  return *c.program;
}

bool matches(const BpfProgram& program, const PacketSpec& spec) { return run_bpf(program, build_packet(spec)) != 0; }

struct MuonExample {
  const char* text;
  std::uint16_t window;
  std::vector<int> kinds;
  int mss, scale;
};

TEST(ConvertMuonFp, PublicExamplesMatchTheirPacketsAndNotNearMisses) {
  const std::vector<MuonExample> examples = {
      {"64240:2-1-3-1-1-4:1460:8", 64240, {2, 1, 3, 1, 1, 4}, 1460, 8},
      {"65535:2-1-3-1-1-8-4-0-0:1460:6", 65535, {2, 1, 3, 1, 1, 8, 4, 0}, 1460, 6},
      {"65535:2-4-8-1-3:1460:7", 65535, {2, 4, 8, 1, 3}, 1460, 7},
      {"1024:::", 1024, {}, 0, 0},
      {"65535:::", 65535, {}, 0, 0},
  };
  for (const MuonExample& e : examples) {
    std::string sig = converted(e.text, ForeignFormat::MuonFp);
    SCOPED_TRACE(fmt::format("{} -> {}", e.text, sig));
    BpfProgram exact = program_of(sig, MatchMode::Exact);
    BpfProgram loose = program_of(sig, MatchMode::Loose);
    PacketSpec packet = muonfp_packet(e.window, e.kinds, e.mss, e.scale);
    EXPECT_TRUE(matches(exact, packet));
    EXPECT_TRUE(matches(loose, packet));
    for (std::uint8_t ttl : {1, 64, 128, 255}) {  // any TTL
      PacketSpec t = packet;
      t.ttl = ttl;
      EXPECT_TRUE(matches(exact, t)) << "TTL " << int(ttl);
    }
    PacketSpec ipv6 = packet;  // any IP version
    ipv6.ipv6 = true;
    EXPECT_TRUE(matches(exact, ipv6));
    PacketSpec df = packet;  // quirks: none in exact mode, unchecked in loose
    df.fragment = 0x4000;
    EXPECT_FALSE(matches(exact, df));
    EXPECT_TRUE(matches(loose, df));

    PacketSpec window = packet;
    window.window = static_cast<std::uint16_t>(e.window - 1);
    EXPECT_FALSE(matches(exact, window));
    EXPECT_FALSE(matches(loose, window));
    if (!e.kinds.empty()) {
      std::vector<int> fewer(e.kinds.begin(), e.kinds.end() - 1);
      if (e.kinds.back() == 0) fewer = {e.kinds.begin(), e.kinds.begin() + 1};
      EXPECT_FALSE(matches(exact, muonfp_packet(e.window, fewer, e.mss, e.scale)));
      EXPECT_FALSE(matches(exact, muonfp_packet(e.window, e.kinds, e.mss + 1, e.scale)));
      EXPECT_FALSE(matches(exact, muonfp_packet(e.window, e.kinds, e.mss, e.scale + 1)));
      EXPECT_FALSE(matches(loose, muonfp_packet(e.window, e.kinds, e.mss + 1, e.scale)));
    } else {
      // No options in the string: a packet with an MSS option is another layout.
      EXPECT_FALSE(matches(exact, muonfp_packet(e.window, {2}, 1460, 0)));
    }
  }
}

TEST(ConvertSatori, PublicExampleMatchesItsPacketAndNotNearMisses) {
  std::string sig = converted("64240:64:1:60:M1460,S,T,N,W7:.", ForeignFormat::Satori);
  SCOPED_TRACE(sig);
  BpfProgram exact = program_of(sig, MatchMode::Exact);
  PacketSpec packet;
  packet.ttl = 61;
  packet.ip_id = 999;
  packet.window = 64240;
  packet.tcp_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0, 1, 3, 3, 7};
  ASSERT_EQ(build_packet(packet).size(), 60u);  // HDRLEN
  EXPECT_TRUE(matches(exact, packet));
  PacketSpec far = packet;  // TTL 64: 29..64
  far.ttl = 28;
  EXPECT_FALSE(matches(exact, far));
  PacketSpec above = packet;
  above.ttl = 65;
  EXPECT_FALSE(matches(exact, above));
  PacketSpec no_df = packet;
  no_df.fragment = 0;
  EXPECT_FALSE(matches(exact, no_df));
  PacketSpec window = packet;
  window.window = 64241;
  EXPECT_FALSE(matches(exact, window));
  PacketSpec scale = packet;
  scale.tcp_options.back() = 8;
  EXPECT_FALSE(matches(exact, scale));
  PacketSpec mss = packet;
  mss.tcp_options[3] = 0xb5;
  EXPECT_FALSE(matches(exact, mss));
  PacketSpec ipv6 = packet;  // HDRLEN 60 with 20 bytes of options is IPv4
  ipv6.ipv6 = true;
  EXPECT_FALSE(matches(exact, ipv6));
}

TEST(ConvertSatori, QuirksAndHeaderLength) {
  // Z (zero ID) under DF: df without id+; without DF: id-.
  EXPECT_EQ(converted("8192:128:1:52:M1460,N,W8,N,N,S:Z", ForeignFormat::Satori),
            "4:128:0:1460:8192,8:mss,nop,ws,nop,nop,sok:df:0");
  EXPECT_EQ(converted("8192:128:0:52:M1460,N,W8,N,N,S:Z", ForeignFormat::Satori),
            "4:128:0:1460:8192,8:mss,nop,ws,nop,nop,sok:id-:0");
  // 20 more bytes than IPv4 needs, without DF: IPv6.
  EXPECT_EQ(converted("65535:64:0:84:M1440,N,W6,N,N,T,S,E:.", ForeignFormat::Satori),
            "6:64:0:1440:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1::0");
  // With DF it is IPv4 with 20 bytes of IP options; data is payload +.
  EXPECT_EQ(converted("1024:64:1:64:M536:AD", ForeignFormat::Satori), "4:64:20:536:1024,*:mss:df,id+,ack+:+");
}

struct Malformed {
  const char* text;
  ForeignFormat format;
  std::size_t begin, end;
};

TEST(Convert, MalformedStringsPointAtTheFault) {
  const std::vector<Malformed> cases = {
      {"64240:2-1-x-1:1460:8", ForeignFormat::MuonFp, 10, 11},
      {"64240:2-1-3:1460", ForeignFormat::MuonFp, 16, 16},
      {"64240:2-1-3:1460:8:9", ForeignFormat::MuonFp, 18, 19},
      {"70000:2:1460:8", ForeignFormat::MuonFp, 0, 5},
      {"64240:2-1-3:1460:256", ForeignFormat::MuonFp, 17, 20},
      {"64240:2-300:1460:8", ForeignFormat::MuonFp, 8, 11},
      {"64240:64:2:60:M1460,S,T,N,W7:.", ForeignFormat::Satori, 9, 10},
      {"64240:64:1:56:M1460,S,T,N,W7:.", ForeignFormat::Satori, 11, 13},
      {"64240:64:1:60:M1460,S,X,N,W7:.", ForeignFormat::Satori, 22, 23},
      {"64240:64:1:60:M1460,S,T,N,W7:Q", ForeignFormat::Satori, 29, 30},
      {"64240:0:1:60:M1460,S,T,N,W7:.", ForeignFormat::Satori, 6, 7},
      {"64240:64:1:60:E,M1460:.", ForeignFormat::Satori, 16, 21},
  };
  for (const Malformed& c : cases) {
    Result<std::string> r = convert_signature(c.text, c.format);
    ASSERT_FALSE(r.ok()) << c.text << " gave " << *r;
    EXPECT_EQ(r.error().span.begin, c.begin) << c.text << ": " << render(r.error(), c.text);
    EXPECT_EQ(r.error().span.end, c.end) << c.text << ": " << render(r.error(), c.text);
  }
}

TEST(Convert, BareStringsNameTheirFormat) {
  auto muon = parse_signature("64240:2-1-3-1-1-4:1460:8");
  ASSERT_FALSE(muon.ok());
  EXPECT_NE(muon.error().message.find("MuonFP"), std::string::npos) << muon.error().message;
  EXPECT_NE(muon.error().help.find("p0fbpf convert --from muonfp"), std::string::npos);
  auto satori = parse_signature("64240:64:1:60:M1460,S,T,N,W7:.");
  ASSERT_FALSE(satori.ok());
  EXPECT_NE(satori.error().message.find("Satori"), std::string::npos) << satori.error().message;
  EXPECT_NE(satori.error().help.find("p0fbpf convert --from satori"), std::string::npos);
  // A p0f signature with a mistake keeps its own diagnostic.
  auto p0f = parse_signature("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:9");
  ASSERT_FALSE(p0f.ok());
  EXPECT_EQ(p0f.error().message.find("looks like"), std::string::npos) << p0f.error().message;
}

}  // namespace
}  // namespace p0fbpf::testing
