#include "p0fbpf/parser.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace p0fbpf {
namespace {

Signature parse_ok(const std::string& text) {
  Result<Signature> result = parse_signature(text);
  EXPECT_TRUE(result.ok()) << text << "\n" << (result.ok() ? "" : render(result.error(), text));
  return result.ok() ? *result : Signature{};
}

TEST(Parser, DesignCardSignature) {
  const std::string text = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  Signature sig = parse_ok(text);
  EXPECT_EQ(sig.version, IpVersion::V4);
  EXPECT_EQ(sig.ttl.kind, InitialTtl::Kind::Window);
  EXPECT_EQ(sig.ttl.initial, 64u);
  EXPECT_EQ(sig.olen.bytes, 0u);
  EXPECT_FALSE(sig.mss.value.has_value());
  EXPECT_EQ(sig.window.kind, WindowSize::Kind::MssMultiple);
  EXPECT_EQ(sig.window.value, 10u);
  EXPECT_EQ(sig.scale.value, 6u);
  ASSERT_EQ(sig.options.size(), 5u);
  EXPECT_EQ(sig.options[0].kind, 2);
  EXPECT_EQ(sig.options[1].kind, 4);
  EXPECT_EQ(sig.options[2].kind, 8);
  EXPECT_EQ(sig.options[3].kind, 1);
  EXPECT_EQ(sig.options[4].kind, 3);
  ASSERT_EQ(sig.quirks.size(), 2u);
  EXPECT_TRUE(sig.has(Quirk::DontFragment));
  EXPECT_TRUE(sig.has(Quirk::NonZeroId));
  EXPECT_FALSE(sig.has(Quirk::ZeroId));
  EXPECT_EQ(sig.payload, PayloadClass::Zero);
}

TEST(Parser, SpansPointAtTheirFields) {
  const std::string text = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  Signature sig = parse_ok(text);
  auto piece = [&](Span s) { return text.substr(s.begin, s.end - s.begin); };
  EXPECT_EQ(piece(sig.version_span), "4");
  EXPECT_EQ(piece(sig.ttl.span), "64");
  EXPECT_EQ(piece(sig.olen.span), "0");
  EXPECT_EQ(piece(sig.mss.span), "*");
  EXPECT_EQ(piece(sig.window.span), "mss*10");
  EXPECT_EQ(piece(sig.scale.span), "6");
  EXPECT_EQ(piece(sig.options_span), "mss,sok,ts,nop,ws");
  EXPECT_EQ(piece(sig.options[2].span), "ts");
  EXPECT_EQ(piece(sig.quirks_span), "df,id+");
  EXPECT_EQ(piece(sig.quirks[1].span), "id+");
  EXPECT_EQ(piece(sig.payload_span), "0");
}

TEST(Parser, Versions) {
  EXPECT_EQ(parse_ok("4:64:0:*:*,*:::0").version, IpVersion::V4);
  EXPECT_EQ(parse_ok("6:64:0:*:*,*:::0").version, IpVersion::V6);
  EXPECT_EQ(parse_ok("*:64:0:*:*,*:::0").version, IpVersion::Any);
}

TEST(Parser, TtlForms) {
  Signature random = parse_ok("4:64-:0:*:*,*:::0");
  EXPECT_EQ(random.ttl.kind, InitialTtl::Kind::Random);
  EXPECT_EQ(random.ttl.initial, 64u);
  Signature raw = parse_ok("4:57+7:0:*:*,*:::0");
  EXPECT_EQ(raw.ttl.kind, InitialTtl::Kind::Window);
  EXPECT_EQ(raw.ttl.initial, 64u);
  EXPECT_EQ(raw.ttl.distance, 7u);
  EXPECT_EQ(parse_ok("4:255:0:*:*,*:::0").ttl.initial, 255u);
  EXPECT_EQ(parse_ok("4:1:0:*:*,*:::0").ttl.initial, 1u);
  EXPECT_EQ(parse_ok("4:200+55:0:*:*,*:::0").ttl.initial, 255u);
}

TEST(Parser, OptionLengthMssAndScale) {
  Signature sig = parse_ok("4:64:8:1460:*,14:::0");
  EXPECT_EQ(sig.olen.bytes, 8u);
  EXPECT_EQ(sig.mss.value, 1460u);
  EXPECT_EQ(sig.scale.value, 14u);
  Signature any = parse_ok("4:64:*:*:*,*:::0");
  EXPECT_FALSE(any.olen.bytes.has_value());  // p0fbpf extension
  EXPECT_FALSE(any.scale.value.has_value());
  EXPECT_EQ(parse_ok("4:64:255:65535:*,255:::0").mss.value, 65535u);
}

TEST(Parser, WindowForms) {
  struct Case {
    const char* text;
    WindowSize::Kind kind;
    unsigned value;
  } cases[] = {
      {"4:64:0:*:*,0:::0", WindowSize::Kind::Any, 0},
      {"4:64:0:*:0,0:::0", WindowSize::Kind::Exact, 0},
      {"4:64:0:*:65535,0:::0", WindowSize::Kind::Exact, 65535},
      {"4:64:0:*:mss*1,0:::0", WindowSize::Kind::MssMultiple, 1},
      {"4:64:0:*:mss*1000,0:::0", WindowSize::Kind::MssMultiple, 1000},
      {"4:64:0:*:mtu*4,0:::0", WindowSize::Kind::MtuMultiple, 4},
      {"4:64:0:*:%2,0:::0", WindowSize::Kind::Modulo, 2},
      {"4:64:0:*:%65535,0:::0", WindowSize::Kind::Modulo, 65535},
  };
  for (const auto& c : cases) {
    Signature sig = parse_ok(c.text);
    EXPECT_EQ(sig.window.kind, c.kind) << c.text;
    EXPECT_EQ(sig.window.value, c.value) << c.text;
  }
}

TEST(Parser, EveryOptionKind) {
  Signature sig = parse_ok("4:64:0:*:*,*:mss,nop,ws,sok,sack,ts,?30,?0,eol+7::0");
  std::vector<int> kinds;
  for (const auto& o : sig.options) kinds.push_back(o.kind);
  EXPECT_EQ(kinds, (std::vector<int>{2, 1, 3, 4, 5, 8, 30, 0, 0}));
  EXPECT_EQ(sig.options.back().eol_padding, 7u);
  // Bare eol is eol+0 (bpftools accepted it).
  Signature bare = parse_ok("4:64:0:*:*,*:mss,eol::0");
  EXPECT_EQ(bare.options.back().kind, 0);
  EXPECT_EQ(bare.options.back().eol_padding, 0u);
  EXPECT_TRUE(parse_ok("4:64:0:*:*,*:::0").options.empty());
}

TEST(Parser, TwentyFourOptionsAreTheMost) {
  std::string layout = "nop";
  for (int i = 1; i < 24; ++i) layout += ",nop";
  EXPECT_EQ(parse_ok("4:64:0:*:*,*:" + layout + "::0").options.size(), 24u);
}

TEST(Parser, EveryQuirk) {
  Signature v4 = parse_ok("4:64:0:*:*,*::df,id+,id-,ecn,0+,seq-,ack+,ack-,uptr+,urgf+,pushf+,ts1-,ts2+,opt+,exws,bad,linux:0");
  EXPECT_EQ(v4.quirks.size(), 17u);
  for (Quirk q : {Quirk::DontFragment, Quirk::NonZeroId, Quirk::ZeroId, Quirk::Ecn, Quirk::MustBeZero,
                  Quirk::ZeroSeq, Quirk::NonZeroAck, Quirk::ZeroAck, Quirk::NonZeroUrgentPtr,
                  Quirk::UrgentFlag, Quirk::PushFlag, Quirk::ZeroTs1, Quirk::NonZeroTs2,
                  Quirk::OptionDataAfterEol, Quirk::ExcessiveScale, Quirk::BadOptions, Quirk::LinuxId}) {
    EXPECT_TRUE(v4.has(q)) << quirk_name(q);
  }
  EXPECT_TRUE(parse_ok("6:64:0:*:*,*::flow:0").has(Quirk::FlowLabel));
  EXPECT_TRUE(parse_ok("*:64:0:*:*,*::flow,df:0").has(Quirk::FlowLabel));
}

TEST(Parser, PayloadClasses) {
  EXPECT_EQ(parse_ok("4:64:0:*:*,*:::0").payload, PayloadClass::Zero);
  EXPECT_EQ(parse_ok("4:64:0:*:*,*:::+").payload, PayloadClass::NonZero);
  EXPECT_EQ(parse_ok("4:64:0:*:*,*:::*").payload, PayloadClass::Any);
}

struct ErrorCase {
  std::string text;
  std::string message;  // a part of the message
  std::size_t column;   // where the caret goes
};

class ParserErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParserErrors, NameTheProblemAndPointAtIt) {
  const ErrorCase& c = GetParam();
  Result<Signature> result = parse_signature(c.text);
  ASSERT_FALSE(result.ok()) << c.text;
  EXPECT_NE(result.error().message.find(c.message), std::string::npos)
      << "message: " << result.error().message << "\nwanted: " << c.message;
  EXPECT_EQ(result.error().span.begin, c.column) << result.error().message;
  EXPECT_EQ(result.error().severity, Severity::Error);
}

INSTANTIATE_TEST_SUITE_P(
    Grammar, ParserErrors,
    ::testing::Values(
        ErrorCase{"", "empty signature", 0},
        ErrorCase{"5:64:0:*:*,*:::0", "expected an IP version", 0},
        ErrorCase{"4", "expected ':' after the IP version", 1},
        ErrorCase{"4:", "expected an initial TTL", 2},
        ErrorCase{"4:x:0:*:*,*:::0", "expected an initial TTL, found 'x'", 2},
        ErrorCase{"4:0:0:*:*,*:::0", "initial TTL 0 is out of range", 2},
        ErrorCase{"4:256:0:*:*,*:::0", "an initial TTL 256 is out of range 1..255", 2},
        ErrorCase{"4:64+?:0:*:*,*:::0", "unknown distance", 2},
        ErrorCase{"4:0+32:0:*:*,*:::0", "observed TTL 0", 2},
        ErrorCase{"4:200+56:0:*:*,*:::0", "is over 255", 2},
        ErrorCase{"4:64+:0:*:*,*:::0", "expected a TTL distance", 5},
        ErrorCase{"4:64-5:0:*:*,*:::0", "expected ':' after the initial TTL", 5},
        ErrorCase{"4:64:256:*:*,*:::0", "IP option length 256 is out of range", 5},
        ErrorCase{"4:64::*:*,*:::0", "expected an IP option length", 5},
        ErrorCase{"4:64:0:65536:*,*:::0", "MSS 65536 is out of range", 7},
        ErrorCase{"4:64:0:*:mss*0,*:::0", "MSS multiplier 0 is out of range 1..1000", 13},
        ErrorCase{"4:64:0:*:mss*1001,*:::0", "MSS multiplier 1001", 13},
        ErrorCase{"4:64:0:*:mtu*x,*:::0", "expected an MTU multiplier", 13},
        ErrorCase{"4:64:0:*:%1,*:::0", "window modulus 1 is out of range 2..65535", 10},
        ErrorCase{"4:64:0:*:65536,*:::0", "window size 65536", 9},
        ErrorCase{"4:64:0:*:*:*:::0", "expected ',' after the window size", 10},
        ErrorCase{"4:64:0:*:*,256:::0", "window scale 256", 11},
        ErrorCase{"4:64:0:*:*,*:mss,foo::0", "unknown TCP option 'foo'", 17},
        ErrorCase{"4:64:0:*:*,*:mss,,ws::0", "unknown TCP option", 17},
        ErrorCase{"4:64:0:*:*,*:eol+1,mss::0", "eol must be the last TCP option", 13},
        ErrorCase{"4:64:0:*:*,*:eol+256::0", "EOL padding length 256", 17},
        ErrorCase{"4:64:0:*:*,*:?256::0", "option kind 256", 14},
        ErrorCase{"4:64:0:*:*,*:nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop,nop::0",
                  "more than 24 TCP options", 109},
        ErrorCase{"4:64:0:*:*,*::df,dx:0", "unknown quirk 'dx'", 17},
        ErrorCase{"6:64:0:*:*,*::df:0", "quirk 'df' is not valid in an IPv6 signature", 14},
        ErrorCase{"6:64:0:*:*,*::ecn,id+:0", "quirk 'id+' is not valid in an IPv6", 18},
        ErrorCase{"6:64:0:*:*,*::id-:0", "quirk 'id-'", 14},
        ErrorCase{"6:64:0:*:*,*::0+:0", "quirk '0+'", 14},
        ErrorCase{"4:64:0:*:*,*::flow:0", "quirk 'flow' is not valid in an IPv4", 14},
        ErrorCase{"4:64:0:*:*,*:::", "expected a payload class", 15},
        ErrorCase{"4:64:0:*:*,*:::1", "expected a payload class, found '1'", 15},
        ErrorCase{"4:64:0:*:*,*:::0:", "unexpected text after the payload class", 16},
        ErrorCase{"4:64:0:*:*,*:::0 ", "unexpected text after the payload class", 16},
        ErrorCase{"4:64:0:*:*,*:mss", "expected ':' after the TCP option layout", 16},
        ErrorCase{"4:64:0:*:*,*::df", "expected ':' after the quirks", 16},
        ErrorCase{" 4:64:0:*:*,*:::0", "expected an IP version", 0},
        ErrorCase{"4:99999999999999999999:0:*:*,*:::0", "out of range", 2},
        ErrorCase{std::string("4:64:0:*:*,*::d\x01:0", 19), "unknown quirk", 14}));

TEST(Parser, RenderedErrorShowsSignatureCaretAndHelp) {
  const std::string text = "4:300:0:*:mss*10,6:mss:df:0";
  Result<Signature> result = parse_signature(text);
  ASSERT_FALSE(result.ok());
  std::string shown = render(result.error(), text, "<stdin>:3");
  EXPECT_EQ(shown,
            "<stdin>:3: error: an initial TTL 300 is out of range 1..255\n"
            "  4:300:0:*:mss*10,6:mss:df:0\n"
            "    ^~~\n"
            "  help: the TTL field is N (initial TTL, window N-35..N), N- (any TTL up to N) or N+D "
            "(p0f's raw_sig: observed TTL plus distance)\n");
}

TEST(Parser, UnknownDistanceExplainsHowToPickTheTtl) {
  Result<Signature> result = parse_signature("4:90+?:0:1460:mss*4,7:mss,sok,ts,nop,ws:df,id+:0");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().help.find("32, 64, 128 or 255"), std::string::npos);
  EXPECT_NE(result.error().help.find("128-"), std::string::npos);
}

TEST(Parser, RenderingKeepsControlBytesOffTheTerminal) {
  std::string text = std::string("4:64:0:*:*,*::\x1b[31m:0");
  Result<Signature> result = parse_signature(text);
  ASSERT_FALSE(result.ok());
  std::string shown = render(result.error(), text);
  EXPECT_EQ(shown.find('\x1b'), std::string::npos);
}

TEST(Parser, LongSignaturesAreShownAroundTheError) {
  std::string text = "4:64:0:*:*,*:" + std::string(300, 'x') + "::0";
  Result<Signature> result = parse_signature(text);
  ASSERT_FALSE(result.ok());
  std::string shown = render(result.error(), text);
  std::string first_line = shown.substr(shown.find('\n') + 1);
  first_line = first_line.substr(0, first_line.find('\n'));
  EXPECT_LT(first_line.size(), 120u);
}

// No input, however strange, makes the parser crash or hang.
TEST(Parser, SurvivesRandomInput) {
  std::mt19937_64 rng(12345);
  const std::string alphabet = "0123456789:,+-*%?abcdefghijklmnopqrstuvwxyz \x01\xff";
  std::string base = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = base;
    int edits = static_cast<int>(rng() % 6) + 1;
    for (int e = 0; e < edits; ++e) {
      std::size_t at = text.empty() ? 0 : rng() % text.size();
      char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0: if (!text.empty()) text[at] = c; break;
        case 1: text.insert(text.begin() + static_cast<long>(at), c); break;
        default: if (!text.empty()) text.erase(at, 1); break;
      }
    }
    Result<Signature> result = parse_signature(text);
    if (result.ok()) {
      ++accepted;
    } else {
      EXPECT_LE(result.error().span.begin, text.size());
      EXPECT_FALSE(render(result.error(), text).empty());
    }
  }
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace p0fbpf
