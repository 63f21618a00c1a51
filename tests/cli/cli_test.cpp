// The p0fbpf command as users and scripts run it.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "p0f_oracle.hpp"
#include "test_env.hpp"

namespace {

constexpr const char* kDesignCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

using p0fbpf::testing::Outcome;
using p0fbpf::testing::run_p0fbpf;

std::string quote(const std::string& arg) { return p0fbpf::testing::shell_quote(arg); }
std::string slurp(const std::string& path) { return p0fbpf::testing::read_bytes(path); }

Outcome run_cli(const std::vector<std::string>& args, const std::string& input = "") { return run_p0fbpf(args, input); }

TEST(Cli, DesignCardPrintsOneIptablesLine) {
  Outcome r = run_cli({kDesignCard});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1);
  EXPECT_LE(std::stoi(r.out), 64);
  EXPECT_EQ(r.out, slurp(std::string(P0FBPF_TEST_DATA) + "/golden/design-card.iptables"));
}

// The headers --print-ir printed, one a line.
std::vector<std::string> ir_headers(const std::string& out) {
  std::vector<std::string> headers;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(";; after ", 0) == 0) headers.push_back(line);
  }
  return headers;
}

// -f xdp: Ethernet by default, raw on request; what it cannot take is
// refused with nothing on stdout. (The file itself is compiled, loaded and
// run in ebpf_test.)
TEST(Cli, XdpFormatTakesEthernetOrRawAndRefusesTheRest) {
  Outcome ether = run_cli({"-f", "xdp", kDesignCard});
  ASSERT_EQ(ether.status, 0) << ether.err;
  Outcome raw = run_cli({"-f", "xdp", "--link", "raw", "--name", "syn_flood", kDesignCard});
  ASSERT_EQ(raw.status, 0) << raw.err;
  EXPECT_NE(ether.out.find("int p0fbpf(struct xdp_md *ctx)"), std::string::npos);
  EXPECT_NE(ether.out.find("0x800u"), std::string::npos);  // the EtherType check
  EXPECT_EQ(raw.out.find("0x800u"), std::string::npos);
  EXPECT_NE(raw.out.find("static __always_inline int syn_flood_match(const void *data, const void *data_end)"),
            std::string::npos);
  EXPECT_NE(raw.out.find("} syn_flood_counters SEC(\".maps\");"), std::string::npos);
  EXPECT_NE(raw.out.find("return XDP_DROP;"), std::string::npos);
  Outcome count_only = run_cli({"-f", "xdp", "--count-only", kDesignCard});
  ASSERT_EQ(count_only.status, 0) << count_only.err;
  EXPECT_EQ(count_only.out.find("return XDP_DROP;"), std::string::npos);

  for (std::vector<std::string> args : {std::vector<std::string>{"-f", "xdp", "--name", "9lives", kDesignCard},
                                        {"-f", "xdp", "--name", "a;b", kDesignCard},
                                        {"-f", "xdp", "--link", "sll", kDesignCard},
                                        {"-f", "xdp", "--split", kDesignCard},
                                        {"-f", "xdp", "--max-insns", "64", kDesignCard},
                                        {"-f", "xdp", "--chain", "INPUT", kDesignCard},
                                        {"--name", "x", kDesignCard}}) {
    Outcome r = run_cli(args);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    EXPECT_EQ(r.status, 2) << shown;
    EXPECT_EQ(r.out, "") << shown;
    EXPECT_NE(r.err.find("error:"), std::string::npos) << shown << r.err;
  }
}

TEST(Cli, PrintIrAfterLinkShowsTheEthertypeCheck) {
  Outcome ether = run_cli({"--print-ir=after-link", "--link", "ether", "-f", "asm", kDesignCard});
  EXPECT_EQ(ether.status, 0) << ether.err;
  // Lowered twice: once to check it, once for the program (within --max-insns).
  EXPECT_EQ(ir_headers(ether.out), std::vector<std::string>(2, ";; after link (signature 1): changed"));
  EXPECT_NE(ether.out.find("  framing\n"), std::string::npos) << ether.out;
  EXPECT_NE(ether.out.find("ldh[frame+12] == #2048  ; link: ethertype\n"), std::string::npos) << ether.out;
  EXPECT_NE(ether.out.find("ip version 4, link offset 14, tcp header at 20\n"), std::string::npos) << ether.out;
  // The program follows the IR.
  EXPECT_NE(ether.out.find("ldh      [12]"), std::string::npos) << ether.out;
  Outcome cooked = run_cli({"--print-ir=after-link", "--link", "sll", kDesignCard});
  EXPECT_NE(cooked.out.find("ldh[frame+14] == #2048  ; link: protocol\n"), std::string::npos) << cooked.out;
  // Nothing comes before the IP header: the link pass changes nothing.
  Outcome raw = run_cli({"--print-ir=after-link", kDesignCard});
  EXPECT_EQ(ir_headers(raw.out), std::vector<std::string>(2, ";; after link (signature 1): no change"));
  EXPECT_EQ(raw.out.find("frame+"), std::string::npos) << raw.out;
}

TEST(Cli, PrintIrShowsWhetherVersionsWereShared) {
  // Over its first form's size, so that the sharing forms are tried.
  Outcome both = run_cli({"--print-ir=after-share-versions", "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"});
  EXPECT_EQ(both.status, 0) << both.err;
  std::vector<std::string> headers = ir_headers(both.out);
  ASSERT_FALSE(headers.empty()) << both.out;
  EXPECT_EQ(headers[0],
            ";; after share-versions (form 7 of 9: one branch for both IP versions, short window check): changed");
  EXPECT_NE(both.out.find("ip version 4 or 6"), std::string::npos) << both.out;
  EXPECT_NE(both.out.find("$tcp := "), std::string::npos) << both.out;
  // An IPv4 signature has nothing to share.
  Outcome four = run_cli({"--print-ir=after-share-versions", "-f", "asm", "--max-insns", "50", kDesignCard});
  EXPECT_EQ(four.status, 0) << four.err;
  EXPECT_EQ(ir_headers(four.out),
            (std::vector<std::string>{
                ";; after share-versions (form 7 of 9: one branch for both IP versions, short window check): no change",
                ";; after share-versions (form 8 of 9: one branch for both IP versions, full window check): no change"}));
  EXPECT_EQ(four.out.find("ip version 4 or 6"), std::string::npos) << four.out;
}

TEST(Cli, PrintIrAfterEveryPassInOrder) {
  // Bare, it takes no value: the signature after it stays a signature.
  // With -f asm the first form fits.
  Outcome r = run_cli({"--negate", "--link", "ether", "-f", "asm", "--print-ir", kDesignCard});
  EXPECT_EQ(r.status, 0) << r.err;
  std::vector<std::string> passes;
  for (const std::string& header : ir_headers(r.out)) passes.push_back(header.substr(9, header.find(' ', 9) - 9));
  EXPECT_EQ(passes, (std::vector<std::string>{"lower", "ip-version", "link", "merge-checks", "drop-implied-lengths",
                                              "lower", "ip-version", "link", "merge-checks", "drop-implied-lengths",
                                              "share-branches", "order-versions", "late-version-word",
                                              "order-versions", "late-version-word", "order-versions", "widen-masks",
                                              "order-versions", "group-branches", "order-versions",
                                              "guard-reads", "resolve-link-base", "syn-gate"}));
  // The negated program's guards, and the framing joined to the reads.
  EXPECT_NE(r.out.find("len >= #60  ; packet holds every fixed read\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("len >= #18  ; frame holds the link header\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ldb[$shift+22] <= #64  ; ttl\n"), std::string::npos) << r.out;
}

TEST(Cli, PrintIrNamesTheKnownPasses) {
  Outcome r = run_cli({"--print-ir=after-optimize", kDesignCard});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--print-ir=after-optimize: no such pass"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("lower, ip-version, link, merge-checks, drop-implied-lengths, share-branches, "
                       "order-versions, late-version-word, widen-masks, group-branches, guard-reads, share-versions, "
                       "drop-last-guards, "
                       "copy-per-tag, frame-once, resolve-link-base, syn-gate"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(run_cli({"--print-ir=share-versions", kDesignCard}).status, 2);
}

TEST(Cli, BadSignatureExitsTwoWithNothingOnStdout) {
  Outcome r = run_cli({"4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,bogus:0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "error: unknown quirk 'bogus'\n"
            "  4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+,bogus:0\n"
            "                                             ^~~~~\n"
            "  help: quirks are df, id+, id-, ecn, 0+, flow, seq-, ack+, ack-, uptr+, urgf+, pushf+, "
            "ts1-, ts2+, opt+, exws, bad (and linux with --loose)\n");
}

TEST(Cli, OneBadSignatureAmongSeveralSpoilsTheOutput) {
  Outcome r = run_cli({kDesignCard, "4:64:0:*:*,*:::9"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("expected a payload class, found '9'"), std::string::npos);
}

TEST(Cli, UnknownDistanceExplains) {
  Outcome r = run_cli({"4:90+?:0:1460:mss*4,7:mss,sok,ts,nop,ws:df,id+:0"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("unknown distance"), std::string::npos);
  EXPECT_NE(r.err.find("help:"), std::string::npos);
}

TEST(Cli, ReadsSignaturesFromStdin) {
  Outcome r = run_cli({"-", "-f", "ddd"},
                 "# Linux\n" + std::string(kDesignCard) + "   # the design card\n\n"
                 "*:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0\n");
  EXPECT_EQ(r.status, 0) << r.err;
  Outcome one = run_cli({kDesignCard, "-f", "ddd"});
  EXPECT_GT(std::stoi(r.out), std::stoi(one.out));
}

TEST(Cli, StdinErrorsNameTheLine) {
  Outcome r = run_cli({"-"}, std::string(kDesignCard) + "\n4:64:0:*:*,*:::x\n");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("<stdin>:2: error:", 0), 0u) << r.err;
}

TEST(Cli, EveryFormat) {
  EXPECT_NE(run_cli({"-f", "asm", kDesignCard}).out.find("(000) ld       [0]"), std::string::npos);
  EXPECT_NE(run_cli({"--format", "c", kDesignCard}).out.find("struct sock_fprog"), std::string::npos);
  EXPECT_EQ(run_cli({"-f", "ddd", kDesignCard}).out, slurp(std::string(P0FBPF_TEST_DATA) + "/golden/design-card.ddd"));
  EXPECT_EQ(run_cli({"-f", "iptables", kDesignCard}).out, run_cli({kDesignCard}).out);
  Outcome bad = run_cli({"-f", "pdf", kDesignCard});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.out, "");
}

TEST(Cli, NegateLooseResponse) {
  Outcome plain = run_cli({"-f", "asm", kDesignCard});
  Outcome negated = run_cli({"-n", "-f", "asm", kDesignCard});
  EXPECT_EQ(negated.status, 0);
  EXPECT_NE(negated.out.find("ret      #0"), std::string::npos);
  EXPECT_NE(negated.out, plain.out);
  Outcome loose = run_cli({"--loose", "-f", "ddd", kDesignCard});
  EXPECT_EQ(loose.status, 0);
  EXPECT_LT(std::stoi(loose.out), std::stoi(run_cli({"-f", "ddd", kDesignCard}).out));
  Outcome response = run_cli({"--response", "-f", "asm", kDesignCard});
  EXPECT_EQ(response.status, 0);
  EXPECT_NE(response.out.find("#0xa012"), std::string::npos);  // SYN+ACK with doff 40
}

TEST(Cli, OverTheInstructionLimitIsAnError) {
  Outcome r = run_cli({"--max-insns", "20", kDesignCard});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("more than the 20 allowed"), std::string::npos);
  // Several signatures overflow xt_bpf's 64 by default, not other formats.
  std::vector<std::string> many = {kDesignCard, "*:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0"};
  EXPECT_EQ(run_cli(many).status, 2);
  many.insert(many.begin(), {"-f", "asm"});
  EXPECT_EQ(run_cli(many).status, 0);
  EXPECT_EQ(run_cli({"--max-insns", "0", kDesignCard}).status, 2);
  EXPECT_EQ(run_cli({"--max-insns", "5000", kDesignCard}).status, 2);
}

// Within xt_bpf's 64 a * signature is one branch for both IP versions;
// without that limit it keeps the faster branch per version.
TEST(Cli, StarSignatureIsOneIptablesRule) {
  const std::string star = "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  Outcome rule = run_cli({star});
  ASSERT_EQ(rule.status, 0) << rule.err;
  int size = std::stoi(rule.out);
  EXPECT_LE(size, 64);
  Outcome fastest = run_cli({"-f", "ddd", star});
  ASSERT_EQ(fastest.status, 0);
  EXPECT_GT(std::stoi(fastest.out), 64);
  EXPECT_EQ(std::stoi(run_cli({"-f", "ddd", "--max-insns", "64", star}).out), size);
}

TEST(Cli, DoubleDashEndsOptions) {
  Outcome r = run_cli({"--", kDesignCard});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, run_cli({kDesignCard}).out);
}

TEST(Cli, HelpVersionAndUsageErrors) {
  Outcome help = run_cli({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("iptables -A INPUT -p tcp --syn -m bpf"), std::string::npos);
  EXPECT_NE(help.out.find("--loose"), std::string::npos);
  EXPECT_NE(help.out.find("Exit status"), std::string::npos);
  // Every quirk with its meaning, the extension marked.
  EXPECT_NE(help.out.find("\n  0+       IPv4 reserved (\"must be zero\") flag set\n"), std::string::npos);
  EXPECT_NE(help.out.find("\n  linux    IPv4 ID == (seq XOR ts1) & 0xffff (--loose only)\n"), std::string::npos);
  Outcome version = run_cli({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out.rfind("p0fbpf ", 0), 0u);
  Outcome none = run_cli({});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("no signature given"), std::string::npos);
  Outcome unknown = run_cli({"--frobnicate", kDesignCard});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_EQ(unknown.out, "");
  Outcome empty_stdin = run_cli({"-"}, "# nothing\n\n");
  EXPECT_EQ(empty_stdin.status, 2);
}

// The MSS value's check, merged into the option's compare, keeps its own
// name in the comment: "mss" is not a name already listed in "olayout[0] mss".
TEST(Cli, AsmCommentsNameEachMergedField) {
  Outcome r = run_cli({"--loose", "-f", "asm", "4:64:0:1460:65535,0:mss:df:0"});
  EXPECT_EQ(r.status, 0);
  // The compare of the option's kind, length and value (0x020405b4, its
  // kind byte masked); where it jumps depends on the order of the checks.
  std::size_t at = r.out.find("jeq      #0x20005b4 ");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string line = r.out.substr(at, r.out.find('\n', at) - at);
  EXPECT_TRUE(line.ends_with("; olayout[0] mss, mss")) << line;
}

TEST(Cli, NeverMatchingSignatureWarns) {
  Outcome r = run_cli({"4:64:0:*:*,*::id+:0"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "1,6 0 0 0\n");
  EXPECT_NE(r.err.find("warning: this signature can never match"), std::string::npos);
}

}  // namespace

namespace captures {

const std::string kFixtures = std::string(P0FBPF_TEST_DATA) + "/fixtures/";
const std::string kMix = kFixtures + "syn-mix.pcap";

TEST(CliTest, CountsMatchesAndExitsLikeGrep) {
  Outcome hit = run_cli({"test", "-r", kMix, kDesignCard});
  EXPECT_EQ(hit.status, 0);
  EXPECT_EQ(hit.out, "4 of 21 packets matched\n");
  // Negated, only SYNs count: not the mix's SYN+ACK, nor its first
  // fragment (DF and MF set), which p0f does not fingerprint either.
  Outcome negated = run_cli({"test", "-n", "-r", kMix, kDesignCard});
  EXPECT_EQ(negated.out, "15 of 21 packets matched\n");
  Outcome none = run_cli({"test", "-r", kMix, "4:32:0:*:*,*:::0"});
  EXPECT_EQ(none.status, 1);
  EXPECT_EQ(none.out, "0 of 21 packets matched\n");
  Outcome loose = run_cli({"test", "--loose", "-r", kMix, kDesignCard});
  EXPECT_EQ(loose.status, 0);
}

TEST(CliTest, WritesTheMatchingPackets) {
  std::string out = ::testing::TempDir() + "p0fbpf_cli_matched_" + std::to_string(getpid()) + ".pcap";
  Outcome r = run_cli({"test", "-r", kMix, "-w", out, "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"});
  EXPECT_EQ(r.out, "5 of 21 packets matched\n");
  Outcome again = run_cli({"test", "-r", out, "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"});
  EXPECT_EQ(again.out, "5 of 5 packets matched\n");
  std::remove(out.c_str());
}

TEST(CliTest, BadCapturesExitTwo) {
  Outcome missing = run_cli({"test", "-r", "/nonexistent.pcap", kDesignCard});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("cannot read capture /nonexistent.pcap"), std::string::npos);
  std::string empty = ::testing::TempDir() + "p0fbpf_cli_empty_" + std::to_string(getpid()) + ".pcap";
  std::ofstream(empty).close();
  EXPECT_EQ(run_cli({"test", "-r", empty, kDesignCard}).status, 2);
  EXPECT_EQ(run_cli({"fingerprint", "-r", empty}).status, 2);
  std::remove(empty.c_str());
  EXPECT_EQ(run_cli({"test", "-r", kMix}).status, 2);  // no signature
  EXPECT_EQ(run_cli({"test", kDesignCard}).status, 2);  // no -r
}

TEST(CliTest, TruncatedLastRecordIsReported) {
  std::ifstream in(kMix, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string cut = ::testing::TempDir() + "p0fbpf_cli_cut_" + std::to_string(getpid()) + ".pcap";
  std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  Outcome r = run_cli({"test", "-r", cut, kDesignCard});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "4 of 20 packets matched\n");
  EXPECT_NE(r.err.find("warning:"), std::string::npos);
  EXPECT_NE(r.err.find("record 21"), std::string::npos);
  std::remove(cut.c_str());
}

TEST(CliFingerprint, TableMostFrequentFirst) {
  Outcome r = run_cli({"fingerprint", "-r", kMix});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");  // nothing extra when not on a terminal
  std::istringstream lines(r.out);
  std::string first;
  std::getline(lines, first);
  // p0fbpf's own database has no Linux 3.x: ??? for each.
  EXPECT_EQ(first, "       3  4:61+3:0:1460:mss*10,6:mss,sok,ts,nop,ws:df,id+:0  ???");
  int count = 1;
  for (std::string line; std::getline(lines, line);) ++count;
  EXPECT_EQ(count, 16);
  Outcome top = run_cli({"fingerprint", "-r", kMix, "--top", "2"});
  EXPECT_EQ(std::count(top.out.begin(), top.out.end(), '\n'), 2);
}

TEST(CliFingerprint, SignaturesPipeBackIntoTheCompiler) {
  Outcome table = run_cli({"fingerprint", "-r", kMix, "--top", "1"});
  std::istringstream columns(table.out);
  std::string count, sig;
  columns >> count >> sig;  // awk '{print $2}'
  Outcome compiled = run_cli({"-f", "ddd", "-"}, sig + "\n");
  EXPECT_EQ(compiled.status, 0) << compiled.err;
  Outcome tested = run_cli({"test", "-r", kMix, sig});
  // The three with this raw_sig, and the one with TTL 29: 61+3 means 64,
  // whose window reaches down to 29.
  EXPECT_EQ(tested.out, "4 of 21 packets matched\n");
}

TEST(CliFingerprint, JsonAndResponses) {
  Outcome r = run_cli({"fingerprint", "--json", "--top", "1", "-r", kMix});
  EXPECT_EQ(r.out,
            "{\"packets\": 21, \"syns\": 18, \"distinct\": 16, \"signatures\": [\n"
            "  {\"count\": 3, \"signature\": \"4:61+3:0:1460:mss*10,6:mss,sok,ts,nop,ws:df,id+:0\", "
            "\"label\": \"???\", \"fuzzy\": false, \"database_label\": null}\n"
            "]}\n");
  Outcome responses = run_cli({"fingerprint", "--response", "-r", kMix});
  EXPECT_EQ(responses.out, "       1  4:61+3:0:1460:mss*10,6:mss,sok,ts,nop,ws:df,id+,ack-:0  ???\n");
}

// A label from a hostile database reaches neither the terminal nor the
// JSON raw.
TEST(CliFingerprint, HostileLabelsArePrintable) {
  std::string db = ::testing::TempDir() + "p0fbpf_cli_hostile_" + std::to_string(getpid()) + ".fp";
  std::ofstream(db) << "[tcp:request]\nlabel = s:unix:Evil\x1b[31m:\"x\\\xff\nsig = *:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0\n";
  Outcome text = run_cli({"fingerprint", "--top", "1", "-F", db, "-r", kMix});
  EXPECT_EQ(text.status, 0) << text.err;
  EXPECT_EQ(text.out, "       3  4:61+3:0:1460:mss*10,6:mss,sok,ts,nop,ws:df,id+:0  Evil?[31m \"x\\?\n");
  Outcome json = run_cli({"fingerprint", "--json", "--top", "1", "-F", db, "-r", kMix});
  EXPECT_NE(json.out.find("\"label\": \"Evil\\u001b[31m \\\"x\\\\\\u00ff\""), std::string::npos) << json.out;
  std::remove(db.c_str());
}

// What p0f 3.09b prints for each SYN (or SYN+ACK) of a capture: raw_sig,
// then os or app, and whether its params say fuzzy.
struct P0fBlock {
  std::string raw_sig, label;
  bool fuzzy = false;
};

std::vector<P0fBlock> p0f_blocks(const std::string& p0f, const std::string& capture, const std::string& database,
                                 bool response) {
  std::string command = p0f + " -r " + capture + " -f " + database + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string text;
  char buffer[4096];
  for (std::size_t n; pipe && (n = fread(buffer, 1, sizeof buffer, pipe)) > 0;) text.append(buffer, n);
  if (!pipe || pclose(pipe) != 0) throw std::runtime_error("p0f failed: " + text);
  std::vector<P0fBlock> blocks;
  std::istringstream lines(text);
  bool in_block = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(".-[ ", 0) == 0) {
      in_block = line.find(response ? "(syn+ack) ]" : "(syn) ]") != std::string::npos;
      if (in_block) blocks.emplace_back();
    } else if (in_block && (line.rfind("| os ", 0) == 0 || line.rfind("| app ", 0) == 0)) {
      blocks.back().label = line.substr(line.find("= ") + 2);
    } else if (in_block && line.rfind("| params ", 0) == 0) {
      blocks.back().fuzzy = line.find("fuzzy") != std::string::npos;
    } else if (in_block && line.rfind("| raw_sig ", 0) == 0) {
      blocks.back().raw_sig = line.substr(line.find("= ") + 2);
    }
  }
  return blocks;
}

// fingerprint's label column equals p0f's os/app and fuzzy flag for every
// SYN p0f fingerprints in the project's captures, with both databases.
TEST(CliFingerprint, LabelsAreP0fs) {
  auto p0f = p0fbpf::testing::find_p0f();
  P0FBPF_REQUIRE(p0f.has_value(), "p0f is not installed (apt-get install p0f)");
  const std::string ours = std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp";
  std::size_t compared = 0, fuzzy = 0;
  for (const std::string& database : {std::string("/etc/p0f/p0f.fp"), ours}) {
    for (const char* capture : {"syn-mix.pcap", "links/ipv4.pcap", "links/ipv6.pcap", "links/linux-sll.pcap",
                                "links/linux-sll2.pcap", "links/raw.pcap", "links/null.pcap"}) {
      for (bool response : {false, true}) {
        std::vector<std::string> args = {"fingerprint", "--json", "-F", database, "-r", kFixtures + capture};
        if (response) args.push_back("--response");
        Outcome r = run_cli(args);
        ASSERT_EQ(r.status, 0) << r.err;
        for (const P0fBlock& block : p0f_blocks(*p0f, kFixtures + capture, database, response)) {
          std::string label = block.label;
          std::string expected = "\"signature\": \"" + block.raw_sig + "\", \"label\": \"" + label +
                                 "\", \"fuzzy\": " + (block.fuzzy ? "true" : "false");
          EXPECT_NE(r.out.find(expected), std::string::npos)
              << capture << " with " << database << ": p0f says " << block.label << (block.fuzzy ? " (fuzzy)" : "")
              << " for " << block.raw_sig << "; fingerprint says\n" << r.out;
          ++compared;
          fuzzy += block.fuzzy;
        }
      }
    }
  }
  EXPECT_GE(compared, 40u);
  EXPECT_GE(fuzzy, 3u);
}

}  // namespace captures

namespace convert {

TEST(CliConvert, SignaturesReadyForTheCompiler) {
  Outcome r = run_cli({"convert", "--from", "muonfp", "64240:2-1-3-1-1-4:1460:8", "1024:::"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "*:255-:*:1460:64240,8:mss,nop,ws,nop,nop,sok::*\n*:255-:*:*:1024,*:::*\n");
  Outcome compiled = run_cli({"-f", "ddd", "-"}, r.out);
  EXPECT_EQ(compiled.status, 0) << compiled.err;
  Outcome piped = run_cli({"convert", "--from", "satori", "-"}, "; a comment\n64240:64:1:60:M1460,S,T,N,W7:.\n\n");
  EXPECT_EQ(piped.status, 0) << piped.err;
  EXPECT_EQ(piped.out, "4:64:0:1460:64240,7:mss,sok,ts,nop,ws:df,id+:0\n");
}

TEST(CliConvert, MalformedIsAllOrNothingWithACaret) {
  Outcome r = run_cli({"convert", "--from", "muonfp", "1024:::", "64240:2-1-x-1:1460:8"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("  64240:2-1-x-1:1460:8\n            ^\n"), std::string::npos) << r.err;
  Outcome stdin_error = run_cli({"convert", "--from", "satori", "-"}, "64240:64:1:60:M1460\n1:2:3\n");
  EXPECT_EQ(stdin_error.status, 2);
  EXPECT_NE(stdin_error.err.find("<stdin>:2"), std::string::npos) << stdin_error.err;
  EXPECT_EQ(run_cli({"convert", "--from", "ja4t", "1:2:3:4"}).status, 2);
}

TEST(CliConvert, BareStringNamesTheFormatAndConvert) {
  Outcome r = run_cli({"64240:2-1-3-1-1-4:1460:8"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("looks like a MuonFP string"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("p0fbpf convert --from muonfp"), std::string::npos) << r.err;
  Outcome satori = run_cli({"-"}, "64240:64:1:60:M1460,S,T,N,W7:.\n");
  EXPECT_EQ(satori.status, 2);
  EXPECT_NE(satori.err.find("p0fbpf convert --from satori"), std::string::npos) << satori.err;
}

}  // namespace convert

namespace databases {

std::string regex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out;
}

// Every label of p0f's own database compiles for iptables (64 instructions),
// with --split where one program is not enough.
TEST(CliDatabase, EveryLabelOfP0fDatabaseCompiles) {
  if (!std::ifstream("/etc/p0f/p0f.fp").good()) GTEST_SKIP() << "/etc/p0f/p0f.fp not found (apt-get install p0f)";
  Outcome list = run_cli({"-F", "/etc/p0f/p0f.fp", "--list"});
  ASSERT_EQ(list.status, 0);
  std::istringstream lines(list.out);
  std::size_t labels = 0, split = 0;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::size_t count;
    std::string section;
    words >> count >> section;
    std::string label = line.substr(line.find_first_not_of(' ', line.find(']') + 1));
    std::vector<std::string> args = {"-F", "/etc/p0f/p0f.fp", "--label", "^" + regex_escape(label) + "$"};
    if (section == "[tcp:response]") args.push_back("--response");
    Outcome one = run_cli(args);
    // Both signatures of this label fit one rule, for both versions.
    if (label == "s:unix:Linux:3.11 and newer") {
      EXPECT_EQ(one.status, 0) << one.err;
    }
    if (one.status != 0) {
      args.push_back("--split");
      one = run_cli(args);
      ++split;
    }
    EXPECT_EQ(one.status, 0) << label << "\n" << one.err;
    std::istringstream programs(one.out);
    for (std::string program; std::getline(programs, program);) EXPECT_LE(std::stoi(program), 64) << label;
    ++labels;
  }
  std::printf("%zu labels, %zu of them with --split\n", labels, split);
  EXPECT_GT(labels, 50u);
}

TEST(CliDatabase, ListAndSelectFromAFile) {
  const std::string db = std::string(P0FBPF_TEST_DATA) + "/../signatures/examples.fp";
  Outcome list = run_cli({"-F", db, "--list"});
  EXPECT_EQ(list.status, 0);
  EXPECT_NE(list.out.find("  2 [tcp:request]  s:unix:Linux:3.11 and newer\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("  1 [tcp:response] s:unix:Linux:3.x\n"), std::string::npos) << list.out;
  Outcome nmap = run_cli({"-F", db, "--label", "NMap", "-f", "ddd"});
  EXPECT_EQ(nmap.status, 0) << nmap.err;
  Outcome none = run_cli({"-F", db, "--label", "Plan 9"});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("no [tcp:request] label"), std::string::npos);
  Outcome bad_regex = run_cli({"-F", db, "--label", "(("});
  EXPECT_EQ(bad_regex.status, 2);
  Outcome missing = run_cli({"-F", "/nonexistent.fp", "--list"});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.out, "");
}

TEST(CliDatabase, OversizeSelectionSuggestsSplit) {
  const std::string db = std::string(P0FBPF_TEST_DATA) + "/../signatures/examples.fp";
  Outcome r = run_cli({"-F", db, "--label", "Linux|Windows|NMap"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--split"), std::string::npos) << r.err;
  Outcome negate_split = run_cli({"-F", db, "--label", "Linux", "--split", "-n"});
  EXPECT_EQ(negate_split.status, 2);
}

// Without --split an oversize selection is refused once its first
// signatures are over, which the error names.
TEST(CliDatabase, OversizeSelectionNamesTheSignaturesAlreadyOver) {
  if (!std::ifstream("/etc/p0f/p0f.fp").good()) GTEST_SKIP() << "/etc/p0f/p0f.fp not found (apt-get install p0f)";
  Outcome r = run_cli({"-F", "/etc/p0f/p0f.fp", "--label", "."});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  std::size_t at = r.err.find("error: the first ");
  ASSERT_NE(at, std::string::npos) << r.err;
  unsigned prefix = 0, count = 0;
  ASSERT_EQ(std::sscanf(r.err.c_str() + at, "error: the first %u of %u signatures already need", &prefix, &count), 2)
      << r.err;
  EXPECT_LT(prefix, count);
  EXPECT_NE(r.err.find("more than the 64 allowed\n  help: --split makes as many programs", at), std::string::npos)
      << r.err;
}

}  // namespace databases

// Operators' trust: no success on a lost write, no crash or hang on a
// stranger's database, nothing unsanitised on a terminal.
namespace reliability {

const std::string kExamples = std::string(P0FBPF_TEST_DATA) + "/../signatures/examples.fp";

int status_of(const std::string& command) {
  int raw = std::system(command.c_str());
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// Output (stdout and stderr) of a shell command.
std::string shell_output(const std::string& command, int* status = nullptr) {
  std::string path = ::testing::TempDir() + "p0fbpf_rel_" + std::to_string(getpid()) + "_shell";
  int code = status_of("(" + command + ") > " + path + " 2>&1");
  if (status) *status = code;
  std::string out = slurp(path);
  std::remove(path.c_str());
  return out;
}

// Skipped outside CI, failed under CI=true (as tests/support/test_env.hpp).
#define REQUIRE_OR_SKIP(condition, message)                                 \
  do {                                                                      \
    if (!(condition)) {                                                     \
      const char* ci = std::getenv("CI");                                   \
      if (ci && std::string(ci) == "true") FAIL() << (message);             \
      GTEST_SKIP() << (message);                                            \
    }                                                                       \
  } while (0)

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "p0fbpf_rel_" + std::to_string(getpid()) + "_" + name;
}

// A capture of `count` SYNs that all differ (by window), written with libpcap.
std::string distinct_syns(std::size_t count) {
  std::string path = temp_path("distinct.pcap");
  pcap_t* dead = pcap_open_dead(DLT_RAW, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  for (std::size_t i = 0; i < count; ++i) {
    // IPv4 (DF, TTL 64) and TCP SYN with an MSS option; the window differs.
    auto window = static_cast<std::uint16_t>(1000 + i);
    std::vector<std::uint8_t> packet = {0x45, 0, 0, 44, 0, 0, 0x40, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
                                        0x04, 0, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02,
                                        static_cast<std::uint8_t>(window >> 8), static_cast<std::uint8_t>(window),
                                        0, 0, 0, 0, 2, 4, 5, 180};
    pcap_pkthdr header{};
    header.caplen = header.len = static_cast<bpf_u_int32>(packet.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, packet.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  return path;
}

TEST(CliReliability, LostWritesToStandardOutputExitTwo) {
  const std::string p0fbpf_binary = quote(P0FBPF_BINARY);
  // Larger than stdio's buffer: written before the final flush.
  std::string capture = distinct_syns(3000);
  EXPECT_EQ(status_of(p0fbpf_binary + " fingerprint -r " + capture + " > /dev/full 2>/dev/null"), 2);
  EXPECT_EQ(status_of(p0fbpf_binary + " fingerprint -r " + capture + " > /dev/null"), 0);
  EXPECT_EQ(status_of(p0fbpf_binary + " -F " + kExamples + " --list > /dev/full 2>/dev/null"), 2);
  EXPECT_EQ(status_of(p0fbpf_binary + " " + quote(kDesignCard) + " > /dev/full 2>/dev/null"), 2);
  if (std::ifstream("/etc/p0f/p0f.fp").good()) {
    EXPECT_EQ(status_of(p0fbpf_binary + " -F /etc/p0f/p0f.fp --label . --split -f script > /dev/full 2>/dev/null"), 2);
    EXPECT_EQ(status_of(p0fbpf_binary + " -F /etc/p0f/p0f.fp --label . --split -f asm > /dev/full 2>/dev/null"), 2);
  }
  std::remove(capture.c_str());
}

TEST(CliReliability, ScriptOnAFullFilesystemExitsTwo) {
  REQUIRE_OR_SKIP(geteuid() == 0, "needs root to mount a small tmpfs in a mount namespace");
  int status = 0;
  shell_output("command -v unshare", &status);
  REQUIRE_OR_SKIP(status == 0, "unshare is missing (util-linux)");
  // 60 signatures make a script of more than 16 KiB.
  std::string signatures;
  for (int mss = 1300; mss < 1360; ++mss) {
    signatures += " " + quote("4:64:0:" + std::to_string(mss) + ":mss*10,6:mss,sok,ts,nop,ws:df,id+:0");
  }
  std::string dir = temp_path("tmpfs");
  std::string command = "mkdir -p " + dir + " && unshare -m sh -c 'mount -t tmpfs -o size=16k none " + dir + " && " +
                        std::string(P0FBPF_BINARY) + " -f script" + signatures + " > " + dir +
                        "/rule.sh; echo status=$?; wc -c < " + dir + "/rule.sh'";
  std::string out = shell_output("sh -c " + quote(command));
  EXPECT_NE(out.find("status=2"), std::string::npos) << out;
  EXPECT_NE(out.find("cannot write standard output: No space left on device"), std::string::npos) << out;
  rmdir(dir.c_str());
}

TEST(CliReliability, ScriptRefusesWhatIptablesCannotUse) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  const Case cases[] = {
      {{"-f", "script", "--max-insns", "66", kDesignCard}, "--max-insns 66 is over the 64"},
      {{"-f", "script", "--l3-offset", "4", kDesignCard}, "takes no --l3-offset"},
      {{"-f", "script", "-d", "2001:db8::1", kDesignCard}, "no rule to install"},
      {{"-f", "script", "--ipset", "inet6:servers", kDesignCard}, "no rule to install"},
      {{"-f", "script", "--chain", "-F", kDesignCard}, "not a chain name"},
      {{"-f", "script", "--target", "--flush", kDesignCard}, "not a target name"},
      {{"-f", "script", "--ipset", "-x", kDesignCard}, "not a set name"},
      {{"-f", "script", "--ipset", "servers", "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"}, "--ipset V4SET,V6SET"},
      {{"-f", "script", "--rate", "5", kDesignCard}, "--rate '5': expected N/s"},
      {{"-f", "script", "--rate", "0/s", kDesignCard}, "expected N/s with N from 1"},
      {{"--rate", "5/s", kDesignCard}, "go with -f script"},
      {{"-f", "script", "--hook", "tc", "--dev", "eth0", "--rate", "5/s", kDesignCard}, "--rate goes with --hook iptables"},
  };
  for (const Case& c : cases) {
    Outcome r = run_cli(c.args);
    EXPECT_EQ(r.status, 2) << c.says;
    EXPECT_EQ(r.out, "") << c.says;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
  }
  Outcome one = run_cli({"-f", "script", "--ipset", "servers", kDesignCard});
  EXPECT_EQ(one.status, 0) << one.err;
  // The header counts what the script holds.
  Outcome both = run_cli({"-f", "script", "*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"});
  EXPECT_NE(both.out.find("Installs 2 firewall rule(s), 1 with iptables and 1 with\n# ip6tables"), std::string::npos)
      << both.out;
}

std::string database_with_label(const std::string& label) {
  std::string path = temp_path("db.fp");
  std::ofstream(path, std::ios::binary) << "[tcp:request]\nlabel = " << label
                                        << "\nsig = 4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0\n";
  return path;
}

TEST(CliReliability, StrangersDatabasesNeitherCrashNorHang) {
  const std::string timeout = "timeout 60 ";
  std::string long_label = database_with_label("s:unix:" + std::string(40000, 'a') + ":1");
  Outcome r = run_cli({"-F", long_label, "--label", ".*"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("label of 40009 characters, more than the 256 allowed"), std::string::npos)
      << r.err.substr(0, 500);
  EXPECT_LT(r.err.size(), 2000u);

  // A catastrophic pattern for a backtracking matcher on a label within bounds.
  std::string as = database_with_label("s:unix:" + std::string(200, 'a') + ":1");
  int status = status_of(timeout + quote(P0FBPF_BINARY) + " -F " + as + " --label '(a*)*b' 2>/dev/null >/dev/null");
  EXPECT_EQ(status, 2);  // no label matches; 124 would be the timeout
  status = status_of(timeout + quote(P0FBPF_BINARY) + " -F " + as + " --label '(a*)*:1' >/dev/null");
  EXPECT_EQ(status, 0);

  Outcome huge = run_cli({"-F", as, "--label", std::string(100000, '(')});
  EXPECT_EQ(huge.status, 2);
  EXPECT_NE(huge.err.find("pattern of 100000 characters, more than the 1024 allowed"), std::string::npos);
  EXPECT_LT(huge.err.size(), 2000u);

  Outcome directory = run_cli({"-F", ::testing::TempDir(), "--list"});
  EXPECT_EQ(directory.status, 2);
  EXPECT_NE(directory.err.find("is not a file"), std::string::npos) << directory.err;
  std::remove(long_label.c_str());
  std::remove(as.c_str());
}

TEST(CliReliability, NoControlByteFromADatabaseReachesTheTerminal) {
  std::string escape = database_with_label("s:unix:\x1b]0;owned\x07\x1b[2J:1");
  Outcome list = run_cli({"-F", escape, "--list"});
  EXPECT_EQ(list.status, 0);
  EXPECT_EQ(list.out.find('\x1b'), std::string::npos);
  EXPECT_NE(list.out.find("s:unix:?]0;owned??[2J:1"), std::string::npos) << list.out;
  std::string bad = temp_path("bad.fp");
  std::ofstream(bad, std::ios::binary) << "[tcp:request]\nlabel = s:unix:x:1\nsig = 4:64:0:*:mss*10,6:\x1b[31m:df:0\n"
                                       << "\x1b[2Jkey = value\n";
  Outcome errors = run_cli({"-F", bad, "--list"});
  EXPECT_EQ(errors.status, 2);
  EXPECT_EQ(errors.err.find('\x1b'), std::string::npos) << errors.err;
  std::remove(escape.c_str());
  std::remove(bad.c_str());
}

TEST(CliReliability, BadTokensAreNamedBriefly) {
  Outcome hex = run_cli({"4:0x40:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"});
  EXPECT_EQ(hex.status, 2);
  EXPECT_NE(hex.err.find("expected an initial TTL, found '0x40'"), std::string::npos) << hex.err;
  // Too long for an argument: through standard input.
  Outcome huge = run_cli({"-"}, "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df," + std::string(1 << 20, 'x') + ":0\n");
  EXPECT_EQ(huge.status, 2);
  EXPECT_NE(huge.err.find("unknown quirk 'xxxxx"), std::string::npos) << huge.err.substr(0, 500);
  EXPECT_LT(huge.err.size(), 1000u);
}

TEST(CliReliability, SplitCArraysCompileTogether) {
  int status = 0;
  shell_output("command -v cc", &status);
  REQUIRE_OR_SKIP(status == 0, "no C compiler (cc)");
  Outcome r = run_cli({"-F", kExamples, "--label", ".", "--split", "--max-insns", "64", "-f", "c"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_NE(r.out.find("p0fbpf_2_filter[]"), std::string::npos) << r.out;
  std::string source = temp_path("split.c");
  std::ofstream(source) << r.out << "int main(void) { return p0fbpf_1_program.len + p0fbpf_2_program.len > 0; }\n";
  std::string out = shell_output("cc -Wall -Werror -fsyntax-only " + source, &status);
  EXPECT_EQ(status, 0) << out;
  std::remove(source.c_str());
}

}  // namespace reliability
