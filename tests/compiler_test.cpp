#include "p0fbpf/compiler.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include <cstdio>

#include <fmt/format.h>

#include "bpf_run.hpp"
#include "packet_builder.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

namespace p0fbpf {
namespace {

constexpr const char* kDesignCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
constexpr const char* kWindows = "*:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0";

testing::PacketSpec linux_syn() {
  testing::PacketSpec p;
  p.ttl = 60;
  p.ip_id = 7;
  p.window = 14600;
  p.tcp_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 1, 0, 0, 0, 0, 0, 1, 3, 3, 6};
  return p;
}

testing::PacketSpec windows_syn() {
  testing::PacketSpec p;
  p.ttl = 120;
  p.ip_id = 9;
  p.window = 8192;
  p.tcp_options = {2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2};
  return p;
}

TEST(Compiler, SeveralSignaturesMakeOneProgramMatchingAny) {
  Compilation c = compile({{kDesignCard, ""}, {kWindows, ""}}, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.ir->branches.size(), 3u);  // IPv4; IPv4 and IPv6
  EXPECT_TRUE(is_valid(*c.program));
  EXPECT_NE(testing::run_bpf(*c.program, testing::build_packet(linux_syn())), 0u);
  EXPECT_NE(testing::run_bpf(*c.program, testing::build_packet(windows_syn())), 0u);
  testing::PacketSpec other = windows_syn();
  other.window = 8193;
  EXPECT_EQ(testing::run_bpf(*c.program, testing::build_packet(other)), 0u);
  Compilation only_linux = compile({{kDesignCard, ""}}, {});
  EXPECT_EQ(testing::run_bpf(*only_linux.program, testing::build_packet(windows_syn())), 0u);
}

TEST(Compiler, ReportsEveryBadSignatureAndMakesNoProgram) {
  Compilation c = compile({{"4:64:0:*:mss*10,6:mss:df,XX:0", "<stdin>:1"}, {kDesignCard, ""},
                           {"4:300:0:*:*,*:::0", "<stdin>:3"}},
                          {});
  EXPECT_FALSE(c.ok());
  ASSERT_EQ(c.diagnostics.size(), 2u);
  EXPECT_EQ(c.diagnostics[0].source.origin, "<stdin>:1");
  EXPECT_NE(c.diagnostics[0].render().find("unknown quirk 'XX'"), std::string::npos);
  EXPECT_NE(c.diagnostics[1].render().find("<stdin>:3: error:"), std::string::npos);
}

TEST(Compiler, NeverMatchingSignatureWarnsAndStillCompiles) {
  Compilation c = compile({{"4:64:0:*:*,*::id+:0", ""}}, {});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].diagnostic.severity, Severity::Warning);
  EXPECT_EQ(c.program->instructions.size(), 1u);
  EXPECT_EQ(testing::run_bpf(*c.program, testing::build_packet(linux_syn())), 0u);
}

// fit_within takes the fastest form that fits: a branch per IP version when
// it may, one branch for both when it must, and the smallest otherwise.
TEST(Compiler, FitWithinPicksTheFastestFormThatFits) {
  const std::string star = "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  auto branches_and_size = [&](std::size_t fit) {
    CompileOptions options;
    options.verify_each_pass = true;
    options.fit_within = fit;
    Compilation c = compile({{star, ""}}, options);
    std::vector<int> versions;
    for (const auto& b : c.ir->branches) versions.push_back(b.ip_version);
    return std::pair(versions, c.program->instructions.size());
  };
  auto [fastest_versions, fastest] = branches_and_size(0);
  EXPECT_EQ(fastest_versions, (std::vector<int>{4, 6}));
  EXPECT_EQ(branches_and_size(fastest).second, fastest);  // it fits: nothing else is tried
  auto [rule_versions, rule] = branches_and_size(64);
  EXPECT_EQ(rule_versions, std::vector<int>{0});
  EXPECT_LE(rule, 64u);
  auto [smallest_versions, smallest] = branches_and_size(1);  // nothing fits: the smallest
  EXPECT_LE(smallest, rule);
  EXPECT_GT(smallest, 1u);
  // A signature for one version has nothing to share, only the window check to shorten.
  CompileOptions options;
  options.verify_each_pass = true;
  options.fit_within = 1;
  Compilation one = compile({{kDesignCard, ""}}, options);
  ASSERT_EQ(one.ir->branches.size(), 1u);
  EXPECT_EQ(one.ir->branches[0].ip_version, 4);
  EXPECT_LT(one.program->instructions.size(), compile({{kDesignCard, ""}}, {}).program->instructions.size());
}

// --print-ir reports each pass over a signature once, also when every form
// is tried: a later form reuses the signatures' lowerings rather than
// lowering them again.
TEST(Compiler, ObservedSignaturePassesAreReportedOnceAcrossForms) {
  CompileOptions options;
  options.fit_within = 1;  // nothing fits: every form is tried
  std::map<std::pair<std::string, std::string>, int> reports;
  std::set<std::string> forms;
  options.observe_passes = [&](const PassReport& report) {
    ++reports[{std::string(report.pass), std::string(report.scope)}];
    if (report.scope.rfind("form ", 0) == 0) forms.insert(std::string(report.scope));
  };
  Compilation c = compile({{"*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", ""}, {kDesignCard, ""}}, options);
  ASSERT_TRUE(c.ok());
  EXPECT_GE(forms.size(), 3u);
  EXPECT_EQ((reports[{"lower", "signature 1"}]), 1);
  // Per signature (share-branches runs once per joined program, "program").
  for (const auto& [key, count] : reports) {
    if (key.second.rfind("signature ", 0) == 0) {
      EXPECT_EQ(count, 1) << key.first << " in " << key.second;
    }
  }
}

// The TCP offset variable is 0 on the IPv4 side, as X is at the start: the
// shared `*` form costs no more than an iptables rule holds behind a
// link header of fixed length too (the Linux cooked header adds its
// protocol check).
TEST(Compiler, SharedFormFitsOneRuleBehindFixedLinkHeaders) {
  const std::string star = "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  for (LinkType link : {LinkType::Raw, LinkType::LinuxCooked, LinkType::LinuxCooked2}) {
    CompileOptions options;
    options.fit_within = 64;
    options.link.type = link;
    Compilation c = compile({{star, ""}}, options);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ(c.ir->branches.size(), 1u) << static_cast<int>(link);
    EXPECT_EQ(c.ir->branches[0].ip_version, 0);
    EXPECT_LE(c.program->instructions.size(), 64u) << static_cast<int>(link);
  }
}

TEST(Compiler, LinkOffsetSkipsTheLinkHeader) {
  CompileOptions options;
  options.verify_each_pass = true;
  options.link.type = LinkType::Ethernet;
  Compilation c = compile({{kDesignCard, ""}}, options);
  ASSERT_TRUE(c.ok());
  auto frame = testing::ethernet_frame(testing::build_packet(linux_syn()), false);
  EXPECT_NE(testing::run_bpf(*c.program, frame), 0u);
}

// Distinct signatures that share most checks with their neighbours, as a
// label's signatures do: the MSS changes fastest, then the TTL, the option
// layout, the IP version and the window.
std::vector<SignatureSource> similar_signatures(std::size_t count) {
  const char* layouts[] = {"mss,sok,ts,nop,ws", "mss,nop,ws,nop,nop,sok", "mss,nop,nop,ts"};
  std::vector<SignatureSource> out;
  for (std::size_t i = 0; i < count; ++i) {
    std::size_t layout = i / 16 % 3;
    bool v6 = i / 48 % 2;
    out.push_back({fmt::format("{}:{}:0:{}:mss*{},{}:{}:{}:0", v6 ? 6 : 4, i / 8 % 2 ? 128 : 64, 1200 + i % 8,
                               2 + i / 96, layout < 2 ? 7 : 0, layouts[layout], v6 ? "" : "df,id+"),
                   fmt::format("gen:{}", i + 1)});
  }
  return out;
}

std::vector<SignatureSource> first_of(const std::vector<SignatureSource>& sources, std::size_t count) {
  return {sources.begin(), sources.begin() + static_cast<std::ptrdiff_t>(count)};
}

bool same_instructions(const BpfProgram& a, const BpfProgram& b) {
  if (a.instructions.size() != b.instructions.size() || a.comments != b.comments) return false;
  for (std::size_t i = 0; i < a.instructions.size(); ++i) {
    const bpf_insn &x = a.instructions[i], &y = b.instructions[i];
    if (x.code != y.code || x.jt != y.jt || x.jf != y.jf || x.k != y.k) return false;
  }
  return true;
}

// The options as xdp attach sets them: the frame, a verdict per signature,
// and the SYN gate with a verdict of its own for what is not a SYN.
void as_xdp_attach_compiles(CompileOptions& options) {
  options.link = {LinkType::Ethernet, 0};
  options.verdict_per_signature = true;
  options.syn_gate = true;
  options.not_syn_verdict = 77;
}

// Without comments (xdp attach, pin) a program has the very instructions it
// has with them, and no comment: whole programs of 200 signatures, raw and
// behind Ethernet, gated with a verdict per signature as xdp attach
// compiles them, threaded and not, with far jumps.
TEST(Compiler, WithoutCommentsTheInstructionsAreTheSame) {
  std::vector<SignatureSource> sources = similar_signatures(200);
  for (int variant = 0; variant < 4; ++variant) {
    CompileOptions options;
    options.thread_jumps = variant % 2 == 0;
    if (variant >= 2) as_xdp_attach_compiles(options);
    Compilation with = compile(sources, options);
    options.comments = false;
    Compilation without = compile(sources, options);
    ASSERT_TRUE(with.ok() && without.ok()) << "variant " << variant;
    const BpfProgram &a = *with.program, &b = *without.program;
    ASSERT_GT(a.instructions.size(), 1000u);  // long enough for far jumps
    ASSERT_EQ(a.comments.size(), a.instructions.size());
    EXPECT_TRUE(b.comments.empty()) << "variant " << variant;
    // Far targets: far jumps, or returns copied where a far jump to them
    // would be.
    std::size_t far_jumps = 0;
    std::set<std::uint32_t> returns;
    std::size_t return_copies = 0;
    for (std::size_t i = 0; i < a.instructions.size(); ++i) {
      far_jumps += a.comments[i] == "(far jump)" ? 1 : 0;
      if (a.instructions[i].code == (BPF_RET | BPF_K) && !returns.insert(a.instructions[i].k).second) ++return_copies;
    }
    EXPECT_GT(far_jumps + return_copies, 0u) << "variant " << variant;
    BpfProgram commented = b;
    commented.comments = a.comments;
    EXPECT_TRUE(same_instructions(a, commented)) << "variant " << variant;
  }
}

// Without keep_ir (xdp attach, pin) code generation lets the IR go: the
// program is the same, and only Compilation::ir is left without branches;
// with refuse_over, as those commands compile, the prefixes come first.
TEST(Compiler, WithoutKeepingTheIrTheProgramIsTheSame) {
  std::vector<SignatureSource> sources = similar_signatures(120);
  for (int variant = 0; variant < 2; ++variant) {
    CompileOptions options;
    options.comments = false;
    options.refuse_over = 100000;
    if (variant == 1) as_xdp_attach_compiles(options);
    Compilation kept = compile(sources, options);
    options.keep_ir = false;
    Compilation let_go = compile(sources, options);
    ASSERT_TRUE(kept.ok() && let_go.ok()) << "variant " << variant;
    ASSERT_GT(kept.program->instructions.size(), 500u);
    EXPECT_TRUE(same_instructions(*kept.program, *let_go.program)) << "variant " << variant;
    EXPECT_FALSE(kept.ir->branches.empty());
    EXPECT_TRUE(let_go.ir->branches.empty());
  }
}

// Over refuse_over, the first prefix (1, 2, 4, ... signatures) that is over
// is named, with what it needs: that prefix alone is over, the one half its
// size is not.
TEST(Compiler, RefuseOverNamesTheFirstPrefixThatIsOver) {
  std::vector<SignatureSource> sources = similar_signatures(40);
  sources.push_back({"4:64:0:*:*,*::id+:0", "gen:last"});  // never matches: a warning
  CompileOptions options;
  options.verify_each_pass = true;
  options.fit_within = 100;
  options.refuse_over = 100;
  Compilation c = compile(sources, options);
  EXPECT_FALSE(c.ok());
  EXPECT_TRUE(c.oversize);
  ASSERT_GE(c.diagnostics.size(), 2u);
  // Every signature was checked: the last one's warning comes first.
  EXPECT_EQ(c.diagnostics.front().diagnostic.severity, Severity::Warning);
  EXPECT_EQ(c.diagnostics.front().source.origin, "gen:last");
  const Diagnostic& refusal = c.diagnostics.back().diagnostic;
  EXPECT_EQ(refusal.severity, Severity::Error);
  EXPECT_NE(refusal.help.find("split"), std::string::npos);
  std::size_t prefix = 0, count = 0, needed = 0, allowed = 0;
  ASSERT_EQ(std::sscanf(refusal.message.c_str(),
                        "the first %zu of %zu signatures already need %zu instructions, more than the %zu allowed",
                        &prefix, &count, &needed, &allowed),
            4)
      << refusal.message;
  EXPECT_EQ(count, sources.size());
  EXPECT_EQ(allowed, 100u);
  EXPECT_LT(prefix, sources.size());
  EXPECT_EQ(prefix & (prefix - 1), 0u) << "not a doubling prefix: " << prefix;
  EXPECT_EQ(c.diagnostics.back().source.origin, fmt::format("gen:{}", prefix));  // the prefix's last signature

  CompileOptions plain;
  plain.verify_each_pass = true;
  plain.fit_within = 100;
  Compilation over = compile(first_of(sources, prefix), plain);
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over.program->instructions.size(), needed);
  EXPECT_GT(needed, 100u);
  ASSERT_GT(prefix, 1u);
  EXPECT_LE(compile(first_of(sources, prefix / 2), plain).program->instructions.size(), 100u);
}

TEST(Compiler, RefuseOverOfOneSignatureSaysItNeedsMore) {
  CompileOptions options;
  options.verify_each_pass = true;
  options.refuse_over = 20;
  Compilation c = compile({{kDesignCard, "x.fp:3"}}, options);
  EXPECT_FALSE(c.ok());
  EXPECT_TRUE(c.oversize);
  ASSERT_EQ(c.diagnostics.size(), 1u);
  std::string text = c.diagnostics[0].render();
  EXPECT_NE(text.find("x.fp:3: error: the signature needs "), std::string::npos) << text;
  EXPECT_NE(text.find("more than the 20 allowed"), std::string::npos) << text;
  EXPECT_NE(text.find("help: "), std::string::npos) << text;
}

// A selection within refuse_over gets the program it gets without it.
TEST(Compiler, RefuseOverKeepsASelectionThatFitsAsItWas) {
  for (std::size_t count : {1u, 3u, 9u, 40u}) {
    std::vector<SignatureSource> sources = similar_signatures(count);
    sources.push_back({kWindows, ""});  // a * signature: the forms that share versions are tried
    for (std::size_t limit : {200u, 4096u}) {
      CompileOptions plain;
      plain.verify_each_pass = true;
      plain.fit_within = limit;
      Compilation expected = compile(sources, plain);
      ASSERT_TRUE(expected.ok());
      if (expected.program->instructions.size() > limit) continue;
      CompileOptions refusing = plain;
      refusing.refuse_over = limit;
      Compilation c = compile(sources, refusing);
      ASSERT_TRUE(c.ok()) << count << " signatures within " << limit;
      EXPECT_FALSE(c.oversize);
      EXPECT_TRUE(same_instructions(*c.program, *expected.program)) << count << " signatures within " << limit;
      EXPECT_EQ(c.ir->branches.size(), expected.ir->branches.size());
    }
  }
}

// Errors come first: a selection with a bad signature is not measured.
TEST(Compiler, RefuseOverReportsErrorsNotSize) {
  std::vector<SignatureSource> sources = similar_signatures(40);
  sources.push_back({"4:300:0:*:*,*:::0", "gen:bad"});
  CompileOptions options;
  options.verify_each_pass = true;
  options.refuse_over = 64;
  Compilation c = compile(sources, options);
  EXPECT_FALSE(c.ok());
  EXPECT_FALSE(c.oversize);
  ASSERT_EQ(c.diagnostics.size(), 1u);
  EXPECT_EQ(c.diagnostics[0].source.origin, "gen:bad");
}

// A few hundred signatures in programs of at most 200 instructions: in
// order, each once, and together accepting what the signatures' own
// programs accept.
TEST(Split, HundredsOfSignaturesAcceptWhatEachSignatureAccepts) {
  std::vector<SignatureSource> sources = similar_signatures(300);
  SplitCompilation split = compile_split(sources, {}, 200);
  ASSERT_TRUE(split.ok);
  EXPECT_GT(split.programs.size(), 2u);
  EXPECT_LT(split.programs.size(), sources.size());  // neighbours do share programs
  std::vector<std::size_t> order;
  for (const auto& m : split.members) order.insert(order.end(), m.begin(), m.end());
  ASSERT_EQ(order.size(), sources.size());
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], i);
  for (const auto& p : split.programs) {
    EXPECT_LE(p.instructions.size(), 200u);
    EXPECT_TRUE(is_valid(p));
  }
  std::vector<BpfProgram> each;
  for (const auto& s : sources) each.push_back(*compile({s}, {}).program);

  testing::Random rng(7);
  std::size_t matched = 0, total = 0;
  for (std::size_t s = 0; s < sources.size(); s += 3) {
    Signature sig = *parse_signature(sources[s].text);
    for (int i = 0; i < 6; ++i) {
      testing::PacketSpec p = testing::matching_packet(sig, sig.version == IpVersion::V6, false, rng);
      if (i % 2) p = testing::mutate(p, rng);
      auto bytes = testing::build_packet(p);
      bool any_split = false, any_each = false;
      for (const auto& prog : split.programs) any_split |= testing::run_bpf(prog, bytes) != 0;
      for (const auto& prog : each) any_each |= testing::run_bpf(prog, bytes) != 0;
      ASSERT_EQ(any_split, any_each) << sources[s].text << " packet " << i;
      matched += any_each;
      ++total;
    }
  }
  EXPECT_GT(matched, total / 3);
}

// Under verdict_per_signature the program returns one plus the index of the
// first signature, in selection order, whose own program accepts the packet;
// wide signatures in the middle overlap the narrow ones around them.
TEST(Compiler, VerdictPerSignatureNamesTheFirstSignatureThatMatches) {
  std::vector<SignatureSource> sources = similar_signatures(60);
  // Twins differing in the window scale alone, which would share a branch.
  for (std::size_t i = 0; i < 12; ++i) {
    std::string twin = sources[i].text;
    twin.replace(twin.find(",7:"), 3, ",8:");
    sources.push_back({twin, fmt::format("twin:{}", i + 1)});
  }
  sources.insert(sources.begin() + 20, {"4:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0", "wide:v4"});
  sources.insert(sources.begin() + 45, {"*:128:0:*:*,*:mss,nop,ws,nop,nop,sok::0", "wide:any"});
  CompileOptions options;
  options.verify_each_pass = true;
  options.verdict_per_signature = true;
  Compilation combined = compile(sources, options);
  ASSERT_TRUE(combined.ok());
  ASSERT_TRUE(is_valid(*combined.program));
  std::vector<BpfProgram> each;
  for (const auto& s : sources) each.push_back(*compile({s}, {}).program);

  testing::Random rng(11);
  std::size_t matched = 0, later_than_first = 0, total = 0;
  for (std::size_t s = 0; s < sources.size(); ++s) {
    Signature sig = *parse_signature(sources[s].text);
    for (int i = 0; i < 8; ++i) {
      bool v6 = sig.version == IpVersion::V6 || (sig.version == IpVersion::Any && i % 2);
      testing::PacketSpec p = testing::matching_packet(sig, v6, false, rng);
      if (i % 4 == 3) p = testing::mutate(p, rng);
      auto bytes = testing::build_packet(p);
      std::uint32_t expected = 0;
      for (std::size_t k = 0; k < each.size() && expected == 0; ++k) {
        if (testing::run_bpf(each[k], bytes) != 0) expected = static_cast<std::uint32_t>(k + 1);
      }
      ASSERT_EQ(testing::run_bpf(*combined.program, bytes), expected) << sources[s].text << " packet " << i;
      matched += expected != 0;
      later_than_first += expected != 0 && expected != s + 1;
      ++total;
    }
  }
  EXPECT_GT(matched, total / 2);
  EXPECT_GT(later_than_first, 0u);  // some packets matched an earlier, wider signature
  CompileOptions negated = options;
  negated.negate = true;
  EXPECT_THROW(compile(sources, negated), std::invalid_argument);
}

// An error anywhere wins over a signature alone over the limit before it,
// and no program is kept.
TEST(Split, AnErrorAfterATooLargeSignatureIsWhatIsReported) {
  SplitCompilation split =
      compile_split({{"4:64:0:1200:mss*10,0:mss:df,id+:0", "x.fp:1"}, {kDesignCard, "x.fp:2"},
                     {"4:300:0:*:*,*:::0", "x.fp:3"}},
                    {}, 20);
  EXPECT_FALSE(split.ok);
  EXPECT_FALSE(split.too_large);
  EXPECT_TRUE(split.programs.empty());
  ASSERT_EQ(split.diagnostics.size(), 1u);
  EXPECT_EQ(split.diagnostics[0].source.origin, "x.fp:3");
}

}  // namespace
}  // namespace p0fbpf
