// Lowering, checked by running the compiled program on hand-made packets
// whose verdicts follow from docs/semantics.md §2 and §3.
#include "passes/lower.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "bpf_run.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "packet_builder.hpp"

namespace p0fbpf {
namespace {

using testing::PacketSpec;

constexpr const char* kDesignCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

Lowered lower_ok(const std::string& text, LowerOptions options = {}) {
  Result<Signature> sig = parse_signature(text);
  EXPECT_TRUE(sig.ok()) << text;
  Result<Lowered> lowered = lower(*sig, options);
  EXPECT_TRUE(lowered.ok()) << text;
  return lowered.ok() ? *lowered : Lowered{};
}

bool accepts(const std::string& sig, const PacketSpec& packet, LowerOptions lower = {}) {
  CompileOptions options;
  options.verify_each_pass = true;
  options.mode = lower.mode;
  options.direction = lower.direction;
  Compilation c = compile({{sig, ""}}, options);
  EXPECT_TRUE(c.ok()) << sig;
  return c.ok() && testing::run_bpf(*c.program, testing::build_packet(packet)) != 0;
}

std::vector<std::uint8_t> options_bytes(std::uint16_t mss, std::uint8_t scale, std::uint32_t ts1,
                                        std::uint32_t ts2 = 0) {
  return {2, 4, static_cast<std::uint8_t>(mss >> 8), static_cast<std::uint8_t>(mss), 4, 2, 8, 10,
          static_cast<std::uint8_t>(ts1 >> 24), static_cast<std::uint8_t>(ts1 >> 16),
          static_cast<std::uint8_t>(ts1 >> 8), static_cast<std::uint8_t>(ts1),
          static_cast<std::uint8_t>(ts2 >> 24), static_cast<std::uint8_t>(ts2 >> 16),
          static_cast<std::uint8_t>(ts2 >> 8), static_cast<std::uint8_t>(ts2), 1, 3, 3, scale};
}

// A SYN that p0f strictly matches against the design-card signature.
PacketSpec design_card_packet() {
  PacketSpec p;
  p.ttl = 57;
  p.ip_id = 0x1234;
  p.fragment = 0x4000;
  p.seq = 0xdeadbeef;
  p.window = 14600;
  p.tcp_options = options_bytes(1460, 6, 123456);
  return p;
}

TEST(LowerExact, DesignCardPacketMatches) {
  EXPECT_TRUE(accepts(kDesignCard, design_card_packet()));
}

TEST(LowerExact, TtlWindowIs35Below) {
  PacketSpec p = design_card_packet();
  for (unsigned ttl : {29u, 30u, 64u}) {
    p.ttl = static_cast<std::uint8_t>(ttl);
    EXPECT_TRUE(accepts(kDesignCard, p)) << ttl;
  }
  for (unsigned ttl : {0u, 28u, 65u, 255u}) {
    p.ttl = static_cast<std::uint8_t>(ttl);
    EXPECT_FALSE(accepts(kDesignCard, p)) << ttl;
  }
  // N- has no lower bound; N+D is the raw_sig spelling of N+D.
  p.ttl = 1;
  EXPECT_TRUE(accepts("4:64-:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", p));
  p.ttl = 50;
  EXPECT_TRUE(accepts("4:50+14:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", p));
}

// Of a TTL window's two bounds, the one most packets fail comes first:
// initial TTLs cluster at 64 and below (Linux, Android, macOS, the BSDs),
// so a window up to 64 is checked from above first, a window above 64 from
// below.
TEST(LowerExact, TtlWindowBoundMostPacketsFailComesFirst) {
  for (const auto& [text, low_first] : std::vector<std::pair<std::string, bool>>{
           {"4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", false},
           {"4:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0", true},
           {"4:255:0:0:1024,0:::0", true}}) {
    Lowered lowered = lower_ok(text);
    ASSERT_EQ(lowered.branches.size(), 1u);
    std::vector<ir::ConditionPtr> ttl;
    for (const ir::ConditionPtr& c : ir::conjuncts(lowered.branches[0].condition)) {
      if (c->field == "ttl") ttl.push_back(c);
    }
    ASSERT_EQ(ttl.size(), 2u) << text;
    // ge(ttl, low) is a GreaterEqual; le(ttl, high) a negated Greater.
    EXPECT_EQ(ttl[0]->relation == ir::Relation::GreaterEqual && !ttl[0]->negated, low_first) << text;
    EXPECT_EQ(ttl[1]->relation == ir::Relation::GreaterEqual && !ttl[1]->negated, !low_first) << text;
  }
}

TEST(LowerExact, QuirkSetMustBeEqual) {
  PacketSpec p = design_card_packet();
  p.ip_id = 0;  // df without id+
  EXPECT_FALSE(accepts(kDesignCard, p));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df:0", p));
  p = design_card_packet();
  p.tos = 0x01;  // ECT: ecn
  EXPECT_FALSE(accepts(kDesignCard, p));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ecn:0", p));
  p = design_card_packet();
  p.flags |= 0x40;  // ECE: ecn too
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ecn:0", p));
  p = design_card_packet();
  p.reserved = 0x01;  // NS: ecn too
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ecn:0", p));
  EXPECT_FALSE(accepts(kDesignCard, p));
  p = design_card_packet();
  p.reserved = 0x0e;  // the other reserved bits are not looked at
  EXPECT_TRUE(accepts(kDesignCard, p));
  p = design_card_packet();
  p.seq = 0;
  EXPECT_FALSE(accepts(kDesignCard, p));
  p = design_card_packet();
  p.flags |= 0x08;
  EXPECT_FALSE(accepts(kDesignCard, p));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,pushf+:0", p));
  p = design_card_packet();
  p.urgent = 5;
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,uptr+:0", p));
  p.flags |= 0x20;  // with URG it is urgf+, and the pointer is not looked at
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,urgf+:0", p));
  p = design_card_packet();
  p.fragment |= 0x8000;
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,0+:0", p));
  EXPECT_FALSE(accepts(kDesignCard, p));
}

TEST(LowerExact, AckPlusIsTheLowBitOfTheFirstAckByte) {
  PacketSpec p = design_card_packet();
  p.ack = 0x00ffffff;  // non-zero, but p0f 3.09b sees no ack+
  EXPECT_TRUE(accepts(kDesignCard, p));
  p.ack = 0x01000000;
  EXPECT_FALSE(accepts(kDesignCard, p));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ack+:0", p));
}

TEST(LowerExact, TimestampQuirks) {
  PacketSpec p = design_card_packet();
  p.tcp_options = options_bytes(1460, 6, 0);
  EXPECT_FALSE(accepts(kDesignCard, p));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ts1-:0", p));
  p.tcp_options = options_bytes(1460, 6, 9, 1);
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ts2+:0", p));
  EXPECT_FALSE(accepts(kDesignCard, p));
}

TEST(LowerExact, WindowUsesP0fsMultiplierDetection) {
  PacketSpec p = design_card_packet();
  p.window = 14600;
  p.tcp_options = options_bytes(1000, 6, 5);  // 14600 = 10 * 1460, no smaller divisor
  EXPECT_TRUE(accepts(kDesignCard, p));
  p.tcp_options = options_bytes(1460, 6, 5);
  p.window = 14601;
  EXPECT_FALSE(accepts(kDesignCard, p));
  p.window = 14600 * 2 / 2 + 1460;  // 11 * 1460
  EXPECT_FALSE(accepts(kDesignCard, p));
  p.tcp_options = options_bytes(99, 6, 5);  // below 100: no detection
  p.window = 990;
  EXPECT_FALSE(accepts(kDesignCard, p));
}

TEST(LowerExact, LengthsAndPayload) {
  PacketSpec p = design_card_packet();
  p.payload = {1, 2, 3};
  EXPECT_FALSE(accepts(kDesignCard, p));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:+", p));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:*", p));
  p = design_card_packet();
  p.extra = 6;  // Ethernet padding past the IP total length
  EXPECT_TRUE(accepts(kDesignCard, p));
  p = design_card_packet();
  p.cut = 1;  // truncated
  EXPECT_FALSE(accepts(kDesignCard, p));
  p = design_card_packet();
  p.fragment |= 0x2000;  // a fragment
  EXPECT_FALSE(accepts(kDesignCard, p));
  p = design_card_packet();
  p.protocol = 17;
  EXPECT_FALSE(accepts(kDesignCard, p));
}

// Where the packet length check stands among a branch's checks: IPv4's,
// which only a truncated datagram fails once the first word fixed the total
// length, after the IP header's fields; IPv6's, which turns away datagrams
// with a shorter payload, right after the payload length.
TEST(LowerExact, PacketLengthCheckPlace) {
  auto fields = [](const ir::Branch& b) {
    std::vector<std::string> out;
    for (const ir::ConditionPtr& c : ir::conjuncts(b.condition)) out.push_back(c->field);
    return out;
  };
  Lowered both = lower_ok("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0");
  ASSERT_EQ(both.branches.size(), 2u);
  for (const ir::Branch& b : both.branches) {
    std::vector<std::string> f = fields(b);
    auto at = [&](const std::string& name) {
      return std::find(f.begin(), f.end(), name) - f.begin();
    };
    // Right after the IP header's fields, before the first read past it.
    ASSERT_LT(at("ip length"), static_cast<long>(f.size())) << b.label;
    auto last_ip_field = b.ip_version == 4 ? at("quirk id+") : at("ip protocol tcp");
    EXPECT_EQ(at("ip length"), last_ip_field + 1) << b.label;
    EXPECT_LT(at("ip protocol tcp"), at("ip length")) << b.label;
    EXPECT_LT(at("pclass"), at("ttl")) << b.label;
    // The TTL window, which fails most packets, before the ID quirk.
    if (b.ip_version == 4) {
      EXPECT_LT(at("ttl"), at("quirk id+")) << b.label;
    }
  }
}

// Each top-level check's field (or the first of its parts' that has one)
// in the first branch of `text`, in order, and where `name` stands there
// (the size when it is missing).
std::vector<std::string> check_fields(const std::string& text, LowerOptions options = {}) {
  std::function<std::string(const ir::ConditionPtr&)> field = [&](const ir::ConditionPtr& c) {
    if (!c->field.empty()) return c->field;
    for (const ir::ConditionPtr& part : c->children) {
      if (std::string f = field(part); !f.empty()) return f;
    }
    return std::string();
  };
  std::vector<std::string> out;
  for (const ir::ConditionPtr& c : ir::conjuncts(lower_ok(text, options).branches.at(0).condition)) {
    out.push_back(field(c));
  }
  return out;
}

long position(const std::vector<std::string>& fields, const std::string& name) {
  return std::find(fields.begin(), fields.end(), name) - fields.begin();
}

// A fixed window size comes right after the TCP flags and data offset,
// before the quirks and the options; one the MSS gives, after the options.
TEST(LowerExact, WindowCheckPlace) {
  auto fields = [](const std::string& text) { return check_fields(text); };
  auto at = position;
  std::vector<std::string> fixed = fields("4:64:0:*:65535,6:mss,nop,ws,sok,ts:df,id+:0");
  ASSERT_LT(at(fixed, "wsize"), static_cast<long>(fixed.size()));
  EXPECT_EQ(at(fixed, "wsize"), at(fixed, "tcp flags, olayout length") + 1);
  EXPECT_LT(at(fixed, "wsize"), at(fixed, "quirk seq-"));
  std::vector<std::string> multiple = fields("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0");
  ASSERT_LT(at(multiple, "wsize"), static_cast<long>(multiple.size()));
  EXPECT_EQ(at(multiple, "wsize"), static_cast<long>(multiple.size()) - 1);
  EXPECT_GT(at(multiple, "wsize"), at(multiple, "quirk seq-"));
}

TEST(LowerExact, DirectionAndFlags) {
  PacketSpec p = design_card_packet();
  for (std::uint8_t flags : {0x12, 0x03, 0x06, 0x10, 0x00}) {
    p.flags = flags;
    EXPECT_FALSE(accepts(kDesignCard, p)) << int{flags};
  }
  p.flags = 0x12;
  p.ack = 1;
  LowerOptions response;
  response.direction = Direction::Response;
  EXPECT_TRUE(accepts(kDesignCard, p, response));
  p.ack = 0;
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ack-:0", p, response));
}

TEST(LowerExact, OptionLayoutMustBeExact) {
  PacketSpec p = design_card_packet();
  p.tcp_options[5] = 3;  // sok length 3: bad
  EXPECT_FALSE(accepts(kDesignCard, p));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,bad:0", p));
  p = design_card_packet();
  p.tcp_options.push_back(1);  // one more option (and padding)
  EXPECT_FALSE(accepts(kDesignCard, p));
}

TEST(LowerExact, EolPaddingAndOptPlus) {
  PacketSpec p;
  p.ttl = 64;
  p.window = 8192;
  p.seq = 1;
  p.ip_id = 1;
  p.tcp_options = {2, 4, 5, 0xb4, 1, 0, 0, 0};  // mss,nop,eol+2
  const std::string sig = "4:64:0:1460:8192,0:mss,nop,eol+2:df,id+:0";
  EXPECT_TRUE(accepts(sig, p));
  p.tcp_options[7] = 9;  // the very last byte: p0f does not see it
  EXPECT_TRUE(accepts(sig, p));
  p.tcp_options[6] = 9;  // an earlier one: opt+
  EXPECT_FALSE(accepts(sig, p));
  EXPECT_TRUE(accepts("4:64:0:1460:8192,0:mss,nop,eol+2:df,id+,opt+:0", p));
}

TEST(LowerExact, StarSignatureCoversBothVersions) {
  Lowered lowered = lower_ok("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0");
  ASSERT_EQ(lowered.branches.size(), 2u);
  PacketSpec p = design_card_packet();
  EXPECT_TRUE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", p));
  p.ipv6 = true;  // df and id+ are dropped for IPv6
  EXPECT_TRUE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", p));
  EXPECT_FALSE(accepts(kDesignCard, p));  // 4: is honoured
  p.flow_label = 5;
  EXPECT_FALSE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", p));
  EXPECT_TRUE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,flow:0", p));
}

TEST(LowerExact, BadSignaturesGetAScenarioForACutShortWalk) {
  EXPECT_EQ(lower_ok("4:64:0:*:*,*:mss,nop,ws,nop,ws:bad:0").branches.size(), 2u);
  EXPECT_EQ(lower_ok("4:64:0:*:*,*:mss,nop,nop,nop,nop:bad:0").branches.size(), 1u);
  // 7 bytes cannot end the header: only a cut-short walk is left.
  EXPECT_EQ(lower_ok("4:64:0:*:*,*:mss,ws:bad:0").branches.size(), 1u);
  EXPECT_EQ(lower_ok("*:64:0:*:*,*:mss,sack:bad:0").branches.size(), 4u);
}

struct Impossible {
  const char* sig;
  const char* reason;
  Direction direction = Direction::Request;
};

class NeverMatches : public ::testing::TestWithParam<Impossible> {};

TEST_P(NeverMatches, CompilesWithAWarning) {
  LowerOptions options;
  options.direction = GetParam().direction;
  Lowered lowered = lower_ok(GetParam().sig, options);
  EXPECT_TRUE(lowered.branches.empty());
  ASSERT_EQ(lowered.warnings.size(), 1u);
  EXPECT_EQ(lowered.warnings[0].severity, Severity::Warning);
  EXPECT_NE(lowered.warnings[0].message.find(GetParam().reason), std::string::npos)
      << lowered.warnings[0].message;
  EXPECT_EQ(lowered.warnings[0].message.rfind("this signature can never match: ", 0), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Lower, NeverMatches,
    ::testing::Values(Impossible{"4:64:3:*:*,*:::0", "not a multiple of 4"},
                      Impossible{"4:64:44:*:*,*:::0", "more than IPv4's 40"},
                      Impossible{"4:64:0:*:*,*::df,id-:0", "id- is only set when DF is clear"},
                      Impossible{"4:64:0:*:*,*::id+:0", "id+ is only set when DF is set"},
                      Impossible{"4:64:0:*:*,*:mss,nop::0", "not a whole number of 32-bit words"},
                      Impossible{"4:64:0:*:*,*:mss:opt+:0", "opt+ needs an eol"},
                      Impossible{"4:64:0:*:*,*:mss,nop,nop,eol+1:opt+:0", "at least two bytes after eol"},
                      Impossible{"4:64:0:*:*,*:ws::0", "words"},
                      Impossible{"4:64:0:1460:mss*10,*:::0", "can never hold"},
                      Impossible{"4:64:0:99:mss*10,*:mss::0", "MSS is below 100"},
                      Impossible{"4:64:0:*:*,*::ack-:0", "ack- is never set on a SYN"},
                      Impossible{"4:64:0:*:*,*::ack+:0", "ack+ is never set on a SYN+ACK", Direction::Response},
                      Impossible{"4:64:0:*:*,*:mss,nop,nop,ts:ts2+:0", "ts2+ is only set on a SYN", Direction::Response},
                      Impossible{"4:64:0:*:*,*::uptr+,urgf+:0", "uptr+ is only set when URG is clear"},
                      Impossible{"6:64:4:*:*,*:::0", "reads an IPv6 packet's IP option length as 0"}));

// The warning underlines what makes the signature impossible: the quirk,
// the option length, the layout; the whole signature where no one field does.
TEST(LowerExact, NeverMatchingPointsAtTheCause) {
  struct Case {
    std::string sig;
    std::string cause;  // its text, found from the end; empty: the whole signature
    std::string around = "";  // or found as the middle of this
    Direction direction = Direction::Request;
  };
  const Case cases[] = {
      {"4:64:0:*:*,*::id+:0", "id+"},
      {"4:64:0:*:*,*::df,id-:0", "id-"},
      {"4:64:0:*:*,*::ack-:0", "ack-"},
      {"4:64:0:*:*,*::ack+:0", "ack+", "", Direction::Response},
      {"4:64:0:*:*,*::uptr+,urgf+:0", "uptr+"},
      {"4:64:44:*:*,*:::0", "44", ":44:"},
      {"6:64:4:*:*,*:::0", "4", ":4:"},
      {"4:64:0:*:*,*:mss,nop::0", "mss,nop"},
      {"4:64:0:1460:mss*10,*:::0", ""},
  };
  for (const Case& c : cases) {
    LowerOptions options;
    options.direction = c.direction;
    Lowered lowered = lower_ok(c.sig, options);
    ASSERT_EQ(lowered.warnings.size(), 1u) << c.sig;
    Span expected{0, c.sig.size()};
    if (!c.cause.empty()) {
      std::size_t at = c.around.empty() ? c.sig.rfind(c.cause) : c.sig.find(c.around) + 1;
      expected = {at, at + c.cause.size()};
    }
    EXPECT_EQ(lowered.warnings[0].span.begin, expected.begin) << c.sig;
    EXPECT_EQ(lowered.warnings[0].span.end, expected.end) << c.sig;
  }
}

TEST(LowerExact, StarSignatureWithIpOptionsKeepsIpv4) {
  // Checked against p0f 3.09b: *:64:4:... matches no IPv6 packet there.
  Lowered lowered = lower_ok("*:64:4:*:*,*:::0");
  ASSERT_EQ(lowered.branches.size(), 1u);
  EXPECT_EQ(lowered.branches[0].ip_version, 4);
  EXPECT_TRUE(lowered.warnings.empty());
}

TEST(LowerExact, StarSignatureWithZeroPlusKeepsIpv4) {
  // p0f does not drop 0+ for IPv6 packets, which never have it.
  Lowered lowered = lower_ok("*:64:0:*:*,*::0+:0");
  ASSERT_EQ(lowered.branches.size(), 1u);
  EXPECT_NE(lowered.branches[0].label.find("IPv4"), std::string::npos);
}

TEST(LowerExact, LinuxQuirkNeedsLoose) {
  Result<Signature> sig = parse_signature("4:64:0:*:*,*:mss,nop,nop,ts:df,linux:0");
  ASSERT_TRUE(sig.ok());
  Result<Lowered> exact = lower(*sig, {});
  ASSERT_FALSE(exact.ok());
  EXPECT_NE(exact.error().message.find("--loose"), std::string::npos);
  EXPECT_EQ(exact.error().span.begin, sig->find(Quirk::LinuxId)->span.begin);
  LowerOptions loose;
  loose.mode = MatchMode::Loose;
  EXPECT_TRUE(lower(*sig, loose).ok());
}

TEST(LowerExact, OlenAfterRandomTtlIsReadAsP0fReadsIt) {
  Lowered lowered = lower_ok("4:64-:4:*:*,*:::0");
  ASSERT_EQ(lowered.warnings.size(), 1u);
  EXPECT_NE(lowered.warnings[0].message.find("reads this IP option length as 0"), std::string::npos);
  PacketSpec p;
  p.ip_id = 1;
  p.fragment = 0;
  p.window = 100;
  EXPECT_TRUE(accepts("4:64-:4:*:*,*:::0", p));  // no IP options, as p0f reads it
  LowerOptions loose;
  loose.mode = MatchMode::Loose;
  EXPECT_TRUE(lower_ok("4:64-:4:*:*,*:::0", loose).warnings.empty());
}

// --loose: only what the signature names.
TEST(LowerLoose, IgnoresWhatTheSignatureDoesNotName) {
  LowerOptions loose;
  loose.mode = MatchMode::Loose;
  PacketSpec p = design_card_packet();
  EXPECT_TRUE(accepts(kDesignCard, p, loose));
  p.flags = 0x02 | 0x08 | 0x20 | 0x40;  // of the flags, only SYN, ACK, FIN and RST are checked
  p.ack = 0x01000000;
  p.seq = 0;
  p.tos = 3;
  EXPECT_TRUE(accepts(kDesignCard, p, loose));
  for (std::uint8_t flags : {0x12, 0x10, 0x03, 0x06}) {  // but those are: a SYN decides
    p.flags = flags;
    EXPECT_FALSE(accepts(kDesignCard, p, loose)) << int(flags);
  }
  p = design_card_packet();
  p.ip_id = 0;  // id+ is named
  EXPECT_FALSE(accepts(kDesignCard, p, loose));
  p = design_card_packet();
  p.window = 14601;
  EXPECT_FALSE(accepts(kDesignCard, p, loose));
  p = design_card_packet();
  p.tcp_options = options_bytes(1000, 6, 5);  // loose: win == mss * 10 only
  p.window = 14600;
  EXPECT_FALSE(accepts(kDesignCard, p, loose));
  p.window = 10000;
  EXPECT_TRUE(accepts(kDesignCard, p, loose));
}

TEST(LowerLoose, AckPlusMeansAckFlagClearAndNonZeroAck) {
  LowerOptions loose;
  loose.mode = MatchMode::Loose;
  PacketSpec p = design_card_packet();
  p.ack = 0x00000100;
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ack+:0", p, loose));
  p.ack = 0;
  EXPECT_FALSE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,ack+:0", p, loose));
}

TEST(LowerLoose, MtuAndLinuxQuirk) {
  LowerOptions loose;
  loose.mode = MatchMode::Loose;
  PacketSpec p = design_card_packet();
  p.window = 3000;  // (1460 + 40) * 2
  EXPECT_TRUE(accepts("4:64:0:*:mtu*2,6:mss,sok,ts,nop,ws:df,id+:0", p, loose));
  p.ipv6 = true;
  p.window = 3040;  // (1460 + 60) * 2
  EXPECT_TRUE(accepts("*:64:0:*:mtu*2,6:mss,sok,ts,nop,ws:df,id+:0", p, loose));
  p = design_card_packet();
  p.seq = 0x00001234;
  p.tcp_options = options_bytes(1460, 6, 0x00005678);
  p.ip_id = 0x1234 ^ 0x5678;
  EXPECT_TRUE(accepts("4:64:0:*:*,*:mss,sok,ts,nop,ws:linux:0", p, loose));
  p.ip_id ^= 1;
  EXPECT_FALSE(accepts("4:64:0:*:*,*:mss,sok,ts,nop,ws:linux:0", p, loose));
}

TEST(LowerLoose, DataOffsetFollowsTheLayout) {
  LowerOptions loose;
  loose.mode = MatchMode::Loose;
  PacketSpec p = design_card_packet();
  p.data_offset_words = 11;
  EXPECT_FALSE(accepts(kDesignCard, p, loose));
  EXPECT_TRUE(accepts("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,bad:*", p, loose));
}

// A fixed window comes right after the TCP flags, with the data offset the
// layout fixes (one compare of the flags' word once merged), before the
// options: signatures that differ by window part there, as in exact mode.
// A window that depends on the MSS, or a data offset the layout leaves
// open, stays after the options.
TEST(LowerLoose, WindowCheckPlace) {
  LowerOptions loose;
  loose.mode = MatchMode::Loose;
  auto fields = [&](const std::string& text) { return check_fields(text, loose); };
  auto at = position;
  std::vector<std::string> fixed = fields("4:64:0:*:1024,10:mss,nop,ws:df:0");
  ASSERT_LT(at(fixed, "wsize"), static_cast<long>(fixed.size()));
  EXPECT_EQ(at(fixed, "olayout length"), at(fixed, "tcp flags") + 1);
  EXPECT_EQ(at(fixed, "wsize"), at(fixed, "tcp flags") + 2);
  EXPECT_LT(at(fixed, "wsize"), at(fixed, "olayout[0] mss"));
  for (const std::string& text : {std::string("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"),
                                  std::string("4:64:0:*:1024,10:mss,nop,ws:df,bad:0")}) {
    std::vector<std::string> late = fields(text);
    ASSERT_LT(at(late, "wsize"), static_cast<long>(late.size())) << text;
    EXPECT_GT(at(late, "wsize"), at(late, "olayout[0] mss")) << text;
  }
  // The forms without the window shortcut keep the window last, as before,
  // so that a program that fitted in one of them still does.
  LowerOptions full = loose;
  full.window_shortcut = false;
  std::vector<std::string> late_fields = check_fields("4:64:0:*:1024,10:mss,nop,ws:df:0", full);
  EXPECT_GT(at(late_fields, "wsize"), at(late_fields, "olayout[0] mss"));
  // The verdicts stand: the window and the data offset decide.
  PacketSpec p = design_card_packet();
  p.window = 1024;
  p.tcp_options = {2, 4, 0x05, 0xb4, 1, 3, 3, 10};
  p.data_offset_words = 7;
  EXPECT_TRUE(accepts("4:64:0:*:1024,10:mss,nop,ws:df:0", p, loose));
  p.window = 1025;
  EXPECT_FALSE(accepts("4:64:0:*:1024,10:mss,nop,ws:df:0", p, loose));
  p.window = 1024;
  p.data_offset_words = 8;
  p.tcp_options.resize(12, 0);
  EXPECT_FALSE(accepts("4:64:0:*:1024,10:mss,nop,ws:df:0", p, loose));
}

// The payload class comes right after the version when the layout fixes
// the TCP header's length (merged into one first compare, which jump
// threading relates across branches), and last when it reads the data
// offset.
TEST(LowerLoose, PayloadClassFollowsTheVersionWhenTheHeaderLengthIsFixed) {
  LowerOptions loose;
  loose.mode = MatchMode::Loose;
  Lowered fixed = lower_ok("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", loose);
  ASSERT_EQ(fixed.branches.size(), 2u);
  for (const auto& branch : fixed.branches) {
    const auto& checks = branch.condition->children;
    ASSERT_GE(checks.size(), 3u);
    EXPECT_NE(checks[0]->field.find("ver"), std::string::npos) << branch.label;
    EXPECT_EQ(checks[1]->field, "pclass") << branch.label;
  }
  Lowered bad = lower_ok("4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,bad:0", loose);
  ASSERT_EQ(bad.branches.size(), 1u);
  EXPECT_EQ(bad.branches[0].condition->children.back()->field, "pclass");
  // The verdicts of §3.2 stand: the datagram's length decides.
  PacketSpec p = design_card_packet();
  EXPECT_TRUE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", p, loose));
  p.payload = {1, 2, 3};
  EXPECT_FALSE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", p, loose));
  EXPECT_TRUE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:+", p, loose));
  p.ipv6 = true;
  EXPECT_TRUE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:+", p, loose));
  EXPECT_FALSE(accepts("*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", p, loose));
}

}  // namespace
}  // namespace p0fbpf
