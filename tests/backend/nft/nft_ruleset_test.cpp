// -f nft: the rules of representative signatures (exact and --loose, both IP
// versions, window rules, options with eol+N, quirks, IPv4 options) accept
// exactly the packets the classic program accepts (libpcap's bpf_filter)
// and the IR says (ir::evaluate), packet for packet, as the hook sees them;
// every file passes `nft -c -f`; refusals and bad names exit 2.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bpf_run.hpp"
#include "cli_run.hpp"
#include "ir/evaluate.hpp"
#include "nft_model.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "test_seed.hpp"

namespace p0fbpf {
namespace {

using testing::run_p0fbpf;

// Whether `nft -c` can run: nft is installed, and this is root (nft -c
// needs CAP_NET_ADMIN to read the kernel's state).
bool can_check() {
  int status = 0;
  testing::run_shell("nft --version", &status);
  return status == 0 && geteuid() == 0;
}

constexpr const char* kCannotCheck = "nft -c needs root and nft (Debian: nftables)";

// `nft -c -f` on the text: "" if nft accepts it, else what it says.
std::string nft_check(const std::string& text) {
  std::string path = testing::temp_file("nft_check_", "ruleset.nft");
  std::ofstream(path) << text;
  int status = 0;
  std::string said = testing::run_shell("nft -c -f " + path, &status);
  return status == 0 ? "" : said.empty() ? "nft failed" : said;
}

// nft_check where it can run, as it must under CI=true; elsewhere "" after
// saying that the check was left out.
std::string nft_check_where_installed(const std::string& text) {
  if (!can_check() && !testing::running_in_ci()) {
    std::printf("%s: the file is not checked with nft -c\n", kCannotCheck);
    return "";
  }
  return nft_check(text);
}

struct Case {
  std::string signature;
  bool loose = false;
  bool response = false;
};

const Case kCases[] = {
    {"*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"},
    {"*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", true},
    {"4:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0"},
    {"*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0"},
    {"4:64:0:1460:mtu*4,0:mss,nop,nop,sok:df:+"},
    {"6:64:0:1440:%8192,7:mss,sok,ts,nop,ws::0"},
    {"4:64:0:*:65535,6:mss,nop,ws,sok,eol+1:df,id+:0"},
    {"4:255:0:*:mss*4,0:mss,nop,nop,ts,eol+3:df,opt+:0"},
    {"4:64:0:*:*,*:mss,nop,ws,nop,nop,ts:df,id+,ts1-,ecn,pushf+:0"},
    {"4:64:*:1460:mss*4,7:mss,nop,ws:df:0", true},
    {"4:64:*:*:16384,0:mss:df,id+:0"},
    {"*:64:0:*:*,*:::0", true},
    {"*:64:0:*:mss*10,*:mss,sok,ts,nop,ws:df:0", false, true},
    {"4:64-:0:1460:mss*4,0:mss::0"},
};

std::vector<std::string> args_of(const Case& c, std::vector<std::string> more) {
  std::vector<std::string> args = {"-f", "nft"};
  if (c.loose) args.push_back("--loose");
  if (c.response) args.push_back("--response");
  args.insert(args.end(), more.begin(), more.end());
  args.push_back("--");
  args.push_back(c.signature);
  return args;
}

// At input and prerouting the rules see the datagram the IP stack checked
// and trimmed; at ingress, the frame's bytes after the link header, padding
// and all, unchecked.
void rules_accept_what_the_classic_program_accepts(bool ingress) {
  std::uint64_t seed = testing::seed_from_env();
  std::printf("P0FBPF_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::size_t refused = 0;
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.signature + (c.loose ? " --loose" : "") + (c.response ? " --response" : "") +
                 (ingress ? " --hook ingress" : ""));
    testing::Outcome o = run_p0fbpf(args_of(c, ingress ? std::vector<std::string>{"--hook", "ingress", "--dev", "lo"}
                                                        : std::vector<std::string>{}));
    if (ingress && o.status == 2 && o.err.find("ip length: compares two packet fields") != std::string::npos) {
      // A payload of variable length: the IP length against the frame's,
      // which nft cannot compare; refused, not approximated.
      EXPECT_NE(o.err.find("--hook prerouting can hold it"), std::string::npos) << o.err;
      ++refused;
      continue;
    }
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(nft_check_where_installed(o.out), "");
    testing::NftModel model(o.out);
    ASSERT_GT(model.rules(), 0u);

    CompileOptions options;
    options.verify_each_pass = true;
    options.mode = c.loose ? MatchMode::Loose : MatchMode::Exact;
    options.direction = c.response ? Direction::Response : Direction::Request;
    Compilation classic = compile({{c.signature, ""}}, options);
    ASSERT_TRUE(classic.ok());
    Signature sig = *parse_signature(c.signature);
    testing::Random rng(seed);
    std::size_t compared = 0, matched = 0;
    for (int i = 0; i < 400; ++i) {
      bool ipv6 = sig.version == IpVersion::V6 || (sig.version == IpVersion::Any && i % 2);
      testing::PacketSpec spec = testing::matching_packet(sig, ipv6, c.response, rng);
      if (i % 5 == 1 && !ipv6) spec.ip_options = {1, 1, 1, 0};  // IPv4 options
      for (int m = 0; m < i % 4; ++m) spec = testing::mutate(spec, rng);
      std::vector<std::uint8_t> built = testing::build_packet(spec);
      if (i % 7 == 3 && built.size() > 24) {  // a datagram cut short, its length field saying so
        built.resize(20 + rng() % (built.size() - 20));
        if ((built[0] >> 4) == 4) built[2] = static_cast<std::uint8_t>(built.size() >> 8), built[3] = static_cast<std::uint8_t>(built.size());
        else if (built.size() >= 40) built[4] = static_cast<std::uint8_t>((built.size() - 40) >> 8), built[5] = static_cast<std::uint8_t>(built.size() - 40);
      }
      if (ingress && i % 3 == 0) built.resize(std::max<std::size_t>(built.size(), 46) + rng() % 3, 0);  // padded
      auto packet = ingress ? std::optional(built) : testing::delivered(built, true);
      if (!packet) continue;
      bool bpf = testing::run_bpf(*classic.program, *packet) != 0;
      bool ir_verdict = ir::evaluate(*classic.ir, *packet).accepted;
      int nft = model.counts(*packet)["sig1"];
      ASSERT_LE(nft, 1) << "two rules of one signature match";
      ASSERT_EQ(bpf, ir_verdict);
      EXPECT_EQ(nft == 1, bpf) << "packet " << i << " " << testing::hex(*packet);
      ++compared;
      matched += bpf;
    }
    EXPECT_GT(compared, 200u);
    EXPECT_GT(matched, 10u) << "too few packets match to tell";
  }
  EXPECT_LE(refused, ingress ? 2u : 0u) << "refused at ingress";
}

TEST(NftRuleset, RulesAcceptWhatTheClassicProgramAccepts) { rules_accept_what_the_classic_program_accepts(false); }
TEST(NftRuleset, IngressRulesAcceptWhatTheClassicProgramAcceptsOnTheFrame) {
  rules_accept_what_the_classic_program_accepts(true);
}

TEST(NftRuleset, EveryFilePassesNftCheck) {
  P0FBPF_REQUIRE(can_check(), kCannotCheck);
  std::vector<std::vector<std::string>> variants = {
      {},
      {"--hook", "prerouting"},
      {"--count-only", "--table", "other", "--chain", "syns"},
      {"--target", "reject"},
      {"--target", "jump flood_syns"},
      {"--rate", "100/s", "--target", "accept"},
      {"-d", "192.0.2.1", "-d", "10.1.2.3/8", "-d", "2001:db8::1/32"},
      {"--negate"},
      {"--hook", "ingress", "--dev", "lo"},
      {"--hook", "ingress", "--dev", "lo", "--negate", "--target", "reject"},
  };
  for (const Case& c : kCases) {
    for (const auto& v : variants) {
      testing::Outcome o = run_p0fbpf(args_of(c, v));
      if (o.status == 2 && !v.empty() && v[0] == "-d") continue;  // none of the signature's families
      if (o.status == 2 && v.size() > 1 && v[1] == "ingress" && o.err.find("ip length") != std::string::npos) continue;
      ASSERT_EQ(o.status, 0) << c.signature << ": " << o.err;
      EXPECT_EQ(nft_check(o.out), "") << c.signature;
    }
  }
  // A whole label, both directions.
  for (const char* direction : {"", "--response"}) {
    std::vector<std::string> args = {"-f", "nft", "-F", "/etc/p0f/p0f.fp", "--label", "Linux:3.11 and newer"};
    if (*direction) args = {"-f", "nft", "-F", "/etc/p0f/p0f.fp", "--response", "--label", "Linux"};
    testing::Outcome o = run_p0fbpf(args);
    ASSERT_EQ(o.status, 0) << o.err;
    EXPECT_EQ(nft_check(o.out), "");
  }
}

TEST(NftRuleset, NegatedRulesCountOnlyTheUnmatchedSyns) {
  std::uint64_t seed = testing::seed_from_env();
  std::printf("P0FBPF_SEED=%llu\n", static_cast<unsigned long long>(seed));
  const std::string sig = "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  testing::Outcome o = run_p0fbpf({"-f", "nft", "--negate", sig});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(nft_check_where_installed(o.out), "");
  // The classic program a hook that sees every packet gets: the gate, then
  // the negated signature.
  CompileOptions options;
  options.negate = true;
  options.syn_gate = true;
  Compilation classic = compile({{sig, ""}}, options);
  ASSERT_TRUE(classic.ok());
  // The model reads rules with counters: the gate's goto lines have none,
  // so read the gate and the unmatched rule apart.
  std::string gate_rules, rest;
  std::istringstream in(o.out);
  for (std::string line; std::getline(in, line);) {
    if (line.find("goto negate") != std::string::npos) gate_rules += line.substr(0, line.find(" goto")) + " counter name \"gate\"\n";
    else rest += line + "\n";
  }
  testing::NftModel gate(gate_rules), chain(rest);
  testing::Random rng(seed);
  Signature parsed = *parse_signature(sig);
  std::size_t dropped = 0;
  for (int i = 0; i < 400; ++i) {
    testing::PacketSpec spec = i % 3 == 0 ? testing::random_packet(i % 2, false, rng)
                                          : testing::mutate(testing::matching_packet(parsed, i % 2, false, rng), rng);
    auto packet = testing::delivered(testing::build_packet(spec), true);
    if (!packet) continue;
    bool through_gate = gate.counts(*packet)["gate"] > 0;
    auto counts = chain.counts(*packet);
    bool nft_drops = through_gate && counts["sig1"] == 0;
    bool bpf = testing::run_bpf(*classic.program, *packet) != 0;
    EXPECT_EQ(nft_drops, bpf) << "packet " << i << " (seed " << seed << ")";
    dropped += bpf;
  }
  EXPECT_GT(dropped, 20u);
}

TEST(NftRuleset, RefusesWhatNftCannotExpressExactly) {
  // A SACK option has a length of its own: what follows it is at an offset
  // that depends on the packet.
  testing::Outcome o = run_p0fbpf({"-f", "nft", "4:64:0:*:8192,0:mss,sack,ws:df:0"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("olayout[2] ws"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("pin PATH"), std::string::npos) << o.err;
  // tc is not nft's: refused, with where to go.
  o = run_p0fbpf({"-f", "nft", "--hook", "tc", "4:64:0:*:8192,0:mss:df:0"});
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_NE(o.err.find("--hook ingress --dev DEV"), std::string::npos) << o.err;
  // At ingress, --hook prerouting is named where it holds the signature
  // (a header length that varies, which the payload check compares with
  // the checked datagram's length), and only there.
  for (const char* sig :
       {"4:64:0:*:8192,0:mss,nop,sack:df:0", "4:64:0:*:8192,0:mss:df:+", "4:64:0:*:8192,0:sack,mss:df:0"}) {
    o = run_p0fbpf({"-f", "nft", "--hook", "ingress", "--dev", "lo", sig});
    EXPECT_EQ(o.status, 2) << sig;
    bool named = o.err.find("--hook prerouting can hold it") != std::string::npos;
    testing::Outcome prerouting = run_p0fbpf({"-f", "nft", "--hook", "prerouting", sig});
    EXPECT_EQ(named, prerouting.status == 0) << sig << ": " << o.err;
  }
}

// The rules of one branch that begin alike (here the design card's window
// rules) check what they share once: one rule in the hook's chain with those
// matches jumps to a chain of the branch's own, sig1_1, which holds the rest
// of each rule with the counter. Not in a negated file, whose rules return
// from the chain they are in.
//
// The window rules are p0f's ways to read `mss*10`: the window is 10 times
// the MSS, or 10 times the MSS less 12 (timestamps), or 14600 or 14480 with
// an MSS that gives none of the earlier; the first two are one lookup of
// MSS . window pairs, the other two compare the window before they look the
// MSS up; each set is named and defined once in the table. A counting rule
// of the chain returns from it: the branch's rules are disjoint. The TTL
// window is one range.
TEST(NftRuleset, RulesThatBeginAlikeShareTheirMatchesThroughAChain) {
  const std::string card = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  testing::Outcome o = run_p0fbpf({"-f", "nft", "--count-only", card});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(nft_check_where_installed(o.out), "");
  std::vector<std::string> in_input, in_branch;
  std::string chain;
  std::istringstream lines(o.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("  chain ")) chain = line.substr(8, line.find(' ', 8) - 8);
    if (line.starts_with("  set ")) chain.clear();
    if (chain.empty() || !line.starts_with("    ") || line.find("type filter") != std::string::npos) continue;
    (chain == "input" ? in_input : in_branch).push_back(line);
    if (chain != "input") {
      EXPECT_EQ(chain, "sig1_1") << line;
    }
  }
  ASSERT_EQ(in_input.size(), 1u) << o.out;
  EXPECT_NE(in_input[0].find(" jump sig1_1 "), std::string::npos) << in_input[0];
  EXPECT_EQ(in_input[0].find("counter"), std::string::npos) << in_input[0];
  EXPECT_NE(in_input[0].find(" @nh,64,8 29-64 "), std::string::npos) << in_input[0];  // the TTL, shared
  ASSERT_EQ(in_branch.size(), 3u) << o.out;
  int pair_sets = 0;
  for (const std::string& rule : in_branch) {
    EXPECT_NE(rule.find("counter name \"sig1\" return "), std::string::npos) << rule;
    EXPECT_EQ(rule.find("@nh,64,8"), std::string::npos) << "a shared match again: " << rule;
    EXPECT_EQ(rule.find("nfproto"), std::string::npos) << rule;
    if (rule.find("@nh,336,16 . @nh,272,16 @set") != std::string::npos) {
      ++pair_sets;
      continue;
    }
    auto window = rule.find("@nh,272,16 == 14");
    EXPECT_NE(window, std::string::npos) << rule;
    EXPECT_LT(window, rule.find("@nh,336,16 @set")) << "a lookup before a compare: " << rule;
    EXPECT_EQ(rule.find("@nh,336,16 >="), std::string::npos) << "a bound the set holds: " << rule;
  }
  EXPECT_EQ(pair_sets, 1);
  auto pairs = o.out.find("    typeof @nh,336,16 . @nh,272,16\n    elements = { ");
  ASSERT_NE(pairs, std::string::npos) << o.out;
  std::string elements = o.out.substr(pairs, o.out.find('\n', o.out.find("elements", pairs)) - pairs);
  EXPECT_NE(elements.find("{ 100 . 1000, "), std::string::npos) << "the MSS times 10";
  EXPECT_NE(elements.find(", 112 . 1000, "), std::string::npos) << "the MSS less 12, times 10";
  testing::Outcome dropping = run_p0fbpf({"-f", "nft", card});
  ASSERT_EQ(dropping.status, 0) << dropping.err;
  EXPECT_EQ(dropping.out.find(" return "), std::string::npos) << "drop ends the chain itself";
  testing::Outcome negated = run_p0fbpf({"-f", "nft", "--negate", card});
  ASSERT_EQ(negated.status, 0) << negated.err;
  EXPECT_EQ(negated.out.find("jump sig"), std::string::npos) << negated.out;
  EXPECT_EQ(nft_check_where_installed(dropping.out), "");
  EXPECT_EQ(nft_check_where_installed(negated.out), "");
}

// IPv6's second word holds the payload length, next header and hop limit:
// a signature's hop-limit window there is the payload length compared
// alone (what the hook's verdict map keys on) and one range of the lower
// half, each a 16-bit load.
TEST(NftRuleset, AWindowOfAWordIsAnUpperHalfAndARange) {
  testing::Outcome o = run_p0fbpf({"-f", "nft", "6:64:0:*:mss*10,6:mss,sok,ts,nop,ws::0"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(nft_check_where_installed(o.out), "");
  // Payload length 40; next header TCP (6) and hop limits 29 to 64:
  // 0x061d to 0x0640.
  EXPECT_NE(o.out.find(" @nh,32,16 == 40 @nh,48,16 1565-1600 "), std::string::npos) << o.out;
  EXPECT_EQ(o.out.find("@nh,32,32"), std::string::npos) << o.out;
}

// Signatures share window rules, so a database's rules hold the same sets
// again and again: each is defined once, as a named set, and the rules
// refer to it. p0f.fp's request section: no two definitions alike, some set
// used by several rules, and nft checks the file.
TEST(NftRuleset, ADatabaseDefinesEachSetOnce) {
  testing::Outcome o = run_p0fbpf({"-f", "nft", "-F", "/etc/p0f/p0f.fp", "--label", "."});
  ASSERT_EQ(o.status, 0) << o.err;
  std::set<std::string> definitions;
  std::map<std::string, int> uses;
  std::size_t inline_sets = 0;
  std::istringstream lines(o.out);
  std::string set, typeof_line;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("  set set")) set = line.substr(6, line.find(' ', 6) - 6);
    if (line.starts_with("    typeof ")) typeof_line = line;
    if (!set.empty() && line.starts_with("    elements = ")) {
      EXPECT_TRUE(definitions.insert(typeof_line + line).second) << set << " is defined twice";
      set.clear();
    }
    if (line.find("counter name") == std::string::npos && line.find(" jump sig") == std::string::npos) continue;
    inline_sets += line.find(" { ") != std::string::npos && line.find(" vmap { ") == std::string::npos;
    for (std::size_t at = line.find(" @set"); at != std::string::npos; at = line.find(" @set", at + 1)) {
      ++uses[line.substr(at + 2, line.find(' ', at + 1) - at - 2)];
    }
  }
  EXPECT_EQ(inline_sets, 0u);
  EXPECT_EQ(uses.size(), definitions.size());
  EXPECT_GT(std::count_if(uses.begin(), uses.end(), [](const auto& u) { return u.second >= 2; }), 0);
  std::printf("%zu sets, %d uses\n", definitions.size(),
              std::accumulate(uses.begin(), uses.end(), 0, [](int n, const auto& u) { return n + u.second; }));
  EXPECT_EQ(nft_check_where_installed(o.out), "");
}

TEST(NftRuleset, BadNamesExitTwoWithNothingOnStdout) {
  const std::string sig = "4:64:0:*:8192,0:mss:df:0";
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"--hook", "ingress"},
           {"--hook", "ingress", "--dev", "eth0\"; flush ruleset"},
           {"--hook", "ingress", "--dev", "averyveryverylongname"},
           {"--hook", "ingress", "--dev", ".."},
           {"--dev", "eth0"},
           {"--table", "p0f bpf"},
           {"--table", "x;flush ruleset"},
           {"--table", ""},
           {"--table", std::string(40, 'a')},
           {"--chain", "in\"put"},
           {"--target", "jump a b"},
           {"--target", "queue"},
           {"--target", "jump input"},
           {"--target", "jump sig1_1"},  // the table's chains of one signature's rules
           {"--target", "goto sig12_3"},
           {"--chain", "sig1_1"},
           {"-d", "10.0.0.0/33"},
           {"-d", "example.org"},
           {"--rate", "0/s"},
           {"--count-only", "--target", "drop"},
           {"--link", "ether"},
           {"--hook", "tc"},
           {"--table", "inet"},  // words nft reserves
           {"--chain", "counter"},
           {"--target", "jump drop"},
           {"--target", "goto return"},
           {"--chain", "negate"},  // the table's chain of --negate's rules
           {"--count-only", "--rate", "5/s"},
           {"--direction", "egress"},  // tc's
           {"--pref", "7"},
       }) {
    bad.insert(bad.begin(), {"-f", "nft"});
    bad.push_back(sig);
    testing::Outcome o = run_p0fbpf(bad);
    EXPECT_EQ(o.status, 2) << bad[2] << " " << bad[3];
    EXPECT_EQ(o.out, "") << bad[2];
    EXPECT_NE(o.err.find("error"), std::string::npos) << bad[2];
  }
  // --table with another format.
  testing::Outcome o = run_p0fbpf({"--table", "x", sig});
  EXPECT_EQ(o.status, 2);
}

// Every word in libnftables (its keywords, the names in its grammar and
// messages) either is refused as a table or chain name, or makes a file
// nft loads, as the table, the base chain, and the chain of --target jump.
TEST(NftRuleset, AWordNftReservesIsRefusedAndAnyOtherLoads) {
  P0FBPF_REQUIRE(can_check(), kCannotCheck);
  std::string library = testing::run_shell("ldd \"$(command -v nft)\" | awk '/libnftables/ {print $3}'");
  while (!library.empty() && library.back() == '\n') library.pop_back();
  std::ifstream in(library, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read nft's library: " << library;
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::set<std::string> words;
  for (std::size_t i = 0; i < bytes.size();) {
    auto lower = [&](std::size_t k) { return k < bytes.size() && bytes[k] >= 'a' && bytes[k] <= 'z'; };
    auto word_char = [&](std::size_t k) {
      return lower(k) || (k < bytes.size() && ((bytes[k] >= '0' && bytes[k] <= '9') || bytes[k] == '_'));
    };
    if (!lower(i) || (i > 0 && word_char(i - 1))) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (word_char(end)) ++end;
    if (end - i <= 31) words.insert(bytes.substr(i, end - i));
    i = end;
  }
  ASSERT_GT(words.size(), 1000u);
  for (const char* keyword : {"inet", "table", "drop", "counter", "limit", "tcp"}) ASSERT_TRUE(words.count(keyword));
  // One file made with stand-in names, the word put in their places: the
  // names are all that differs.
  NftOptions stand_in;
  stand_in.table = "zz_table_name";
  stand_in.chain = "zz_chain_name";
  stand_in.target = "jump zz_target_name";
  stand_in.rate = 5;
  NftRuleset made = compile_nft({{"4:64:0:*:8192,0:mss:df:0", ""}}, {""}, CompileOptions{}, stand_in);
  ASSERT_TRUE(made.ok);
  auto replaced = [&](std::map<std::string, std::string> names) {
    std::string text = made.text;
    for (const auto& [from, to] : names) {
      for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
      }
    }
    return text;
  };
  std::string file;
  std::size_t refused = 0, checked = 0;
  for (const std::string& word : words) {
    if (word == "input" || word == "negate") continue;  // the table's own chains, refused as --target's
    NftOptions base;
    base.table = word;
    base.chain = word;
    NftOptions jump;
    jump.target = "jump " + word;
    bool refuses = check_nft_options(base).has_value();
    EXPECT_EQ(check_nft_options(jump).has_value(), refuses) << word;
    if (refuses) {
      ++refused;
      continue;
    }
    // The word as the table and the base chain; as --target's chain.
    file += replaced({{"zz_table_name", word}, {"zz_chain_name", word}});
    file += replaced({{"zz_table_name", "t_" + word.substr(0, 29)}, {"zz_target_name", word}});
    if (++checked % 100 == 0) {  // nft takes a transaction of limited size
      EXPECT_EQ(nft_check(file).substr(0, 2000), "");
      file.clear();
    }
  }
  if (!file.empty()) {
    EXPECT_EQ(nft_check(file).substr(0, 2000), "");
  }
  std::printf("%zu words, %zu refused\n", words.size(), refused);
  EXPECT_GT(refused, 100u);
}

TEST(NftRuleset, DestinationsInsideOthersAreLeftOut) {
  testing::Outcome o = run_p0fbpf({"-f", "nft", "-d", "10.1.2.3", "-d", "10.0.0.0/8", "-d", "10.1.2.3", "-d",
                                   "192.0.2.7", "-d", "2001:db8::1", "-d", "2001:db8::/32", "-d", "2001:db8::/32",
                                   "*:64:0:*:8192,0:mss:df:0"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("elements = { 10.0.0.0/8, 192.0.2.7 }"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("elements = { 2001:db8::/32 }"), std::string::npos) << o.out;
  EXPECT_EQ(nft_check_where_installed(o.out), "");
}

TEST(NftRuleset, OutputToAFullDeviceExitsTwo) {
  testing::Outcome o = run_p0fbpf({"-f", "nft", "4:64:0:*:8192,0:mss:df:0"}, "", "/dev/full");
  EXPECT_EQ(o.status, 2);
}

TEST(NftRuleset, HostileLabelsReachCommentsSanitised) {
  std::string db = testing::temp_file("nft_hostile_", "p0f.fp");
  std::ofstream(db) << "[tcp:request]\nlabel = s:unix:Evil\" } ; flush ruleset ; #\\\x01:1\n"
                       "sig = 4:64:0:*:8192,0:mss:df:0\n";
  testing::Outcome o = run_p0fbpf({"-f", "nft", "-F", db, "--label", "Evil"});
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out.find("flush ruleset\""), std::string::npos);
  EXPECT_EQ(o.out.find('\x01'), std::string::npos);
  EXPECT_NE(o.out.find("comment \"s:unix:Evil_ } ; flush ruleset ; #__:1\""), std::string::npos) << o.out;
  EXPECT_NE(o.err.find("warning"), std::string::npos);
  EXPECT_EQ(nft_check_where_installed(o.out), "");
}

}  // namespace
}  // namespace p0fbpf
