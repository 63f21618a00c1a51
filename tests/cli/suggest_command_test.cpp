// p0fbpf suggest as users run it: the table, --json, -f, and each bad
// input (exit 2, a message, nothing on stdout). What the table claims is
// checked with `p0fbpf test` over the same captures.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "packet_builder.hpp"
#include "test_env.hpp"
#include "stack_syns.hpp"

namespace {

using p0fbpf::testing::linux_syn;
using p0fbpf::testing::PacketSpec;

using p0fbpf::testing::Outcome;


std::string temp(const std::string& name) { return p0fbpf::testing::temp_file("p0fbpf_suggest_", name); }

Outcome run_cli(const std::vector<std::string>& args, const std::string& stdout_path = "") {
  return p0fbpf::testing::run_p0fbpf(args, "", stdout_path);
}

enum class Link { Ethernet, Raw, Cooked };

std::string write_capture(const std::string& name, const std::vector<PacketSpec>& packets, Link link) {
  std::string path = temp(name);
  int dlt = link == Link::Ethernet ? DLT_EN10MB : link == Link::Raw ? DLT_RAW : DLT_LINUX_SLL;
  pcap_t* dead = pcap_open_dead(dlt, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  EXPECT_TRUE(dumper) << path;
  for (std::size_t i = 0; i < packets.size(); ++i) {
    auto ip = p0fbpf::testing::build_packet(packets[i]);
    auto frame = link == Link::Ethernet ? p0fbpf::testing::ethernet_frame(ip, packets[i].ipv6)
                 : link == Link::Raw    ? ip
                                        : p0fbpf::testing::cooked_frame(ip, packets[i].ipv6);
    pcap_pkthdr header{};
    header.ts.tv_sec = 1700000000 + static_cast<long>(i);
    header.caplen = header.len = static_cast<bpf_u_int32>(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
  return path;
}

// A scanner: random TTL, one MSS option, no DF.
std::vector<PacketSpec> scanner_syns(std::size_t count) {
  std::mt19937 rng(5);
  std::vector<PacketSpec> out;
  for (std::size_t i = 0; i < count; ++i) {
    PacketSpec p;
    p.ttl = static_cast<std::uint8_t>(1 + rng() % 255);
    p.fragment = 0;
    p.ip_id = static_cast<std::uint16_t>(1 + rng() % 65535);
    p.window = 1024;
    p.tcp_options = {2, 4, 0x05, 0xb4};
    p.source_port = static_cast<std::uint16_t>(1024 + i);
    out.push_back(p);
  }
  return out;
}

std::vector<PacketSpec> customers(std::size_t count) {
  std::vector<PacketSpec> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(linux_syn(64 - static_cast<unsigned>(i % 20), 1460, 29200, 7));
  return out;
}

// The signatures of the table's rows (the lines before the total).
std::vector<std::string> signatures_in(const std::string& table) {
  std::vector<std::string> out;
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line) && line.rfind("total:", 0) != 0) out.push_back(line.substr(0, line.find(' ')));
  return out;
}

TEST(SuggestCommand, TableCoversTheScannerAndSparesTheBaseline) {
  std::string attack = write_capture("attack.pcap", scanner_syns(200), Link::Ethernet);
  // Another link type for the baseline: it must work.
  std::string baseline = write_capture("baseline.pcap", customers(50), Link::Cooked);
  Outcome r = run_cli({"suggest", "-r", attack, "--baseline", baseline});
  EXPECT_EQ(r.status, 0) << r.err;
  auto sigs = signatures_in(r.out);
  ASSERT_EQ(sigs.size(), 1u) << r.out;
  EXPECT_NE(r.out.find("total: 1 signature "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("200 100.0%"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("of 200 attack SYNs and 50 baseline SYNs"), std::string::npos) << r.out;
  // What `test` says of the signature over the same captures.
  Outcome caught = run_cli({"test", "-r", attack, sigs[0]});
  EXPECT_EQ(caught.out, "200 of 200 packets matched\n");
  Outcome spared = run_cli({"test", "-r", baseline, sigs[0]});
  EXPECT_EQ(spared.status, 1);
  EXPECT_EQ(spared.out, "0 of 50 packets matched\n");
}

TEST(SuggestCommand, JsonGivesTheSameData) {
  std::string attack = write_capture("attack.pcap", scanner_syns(200), Link::Raw);
  std::string baseline = write_capture("baseline.pcap", customers(50), Link::Raw);
  Outcome table = run_cli({"suggest", "-r", attack, "--baseline", baseline});
  Outcome json = run_cli({"suggest", "-r", attack, "--baseline", baseline, "--json"});
  EXPECT_EQ(json.status, 0) << json.err;
  auto sigs = signatures_in(table.out);
  ASSERT_EQ(sigs.size(), 1u);
  EXPECT_NE(json.out.find("\"signature\": \"" + sigs[0] + "\", \"attack_syns\": 200, \"attack_percent\": 100.00, "
                          "\"baseline_hits\": 0"),
            std::string::npos)
      << json.out;
  EXPECT_NE(json.out.find("\"attack_syns\": 200, \"baseline_syns\": 50"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"covered\": 200"), std::string::npos) << json.out;
}

TEST(SuggestCommand, FormatPrintsTheRulesAsTheCompilerDoes) {
  std::string attack = write_capture("attack.pcap", scanner_syns(100), Link::Ethernet);
  auto sigs = signatures_in(run_cli({"suggest", "-r", attack}).out);
  ASSERT_EQ(sigs.size(), 1u);
  for (std::string format : {"iptables", "script", "asm", "c", "nft"}) {
    Outcome rule = run_cli({"suggest", "-r", attack, "-f", format});
    EXPECT_EQ(rule.status, 0) << rule.err;
    std::vector<std::string> compile = {"-f", format, sigs[0]};
    if (format == "iptables") compile.insert(compile.begin(), "--split");
    Outcome compiled = run_cli(compile);
    ASSERT_EQ(compiled.status, 0) << compiled.err;
    EXPECT_EQ(rule.out, compiled.out) << format;
  }
  // Where the rules go, passed on to the compiler: an nft table at
  // prerouting that only counts, and nft loads it; a tc script.
  for (std::vector<std::string> where : std::vector<std::vector<std::string>>{
           {"-f", "nft", "--hook", "prerouting", "--table", "flood", "--count-only"},
           {"-f", "nft", "--hook", "ingress", "--dev", "lo", "--rate", "100/s", "-d", "192.0.2.0/24"},
           {"-f", "script", "--hook", "tc", "--dev", "eth0", "--direction", "egress", "--pref", "7"}}) {
    std::vector<std::string> suggest = {"suggest", "-r", attack};
    suggest.insert(suggest.end(), where.begin(), where.end());
    Outcome rule = run_cli(suggest);
    ASSERT_EQ(rule.status, 0) << rule.err;
    where.push_back(sigs[0]);
    Outcome compiled = run_cli(where);
    ASSERT_EQ(compiled.status, 0) << compiled.err;
    EXPECT_EQ(rule.out, compiled.out) << where[3];
    EXPECT_NE(rule.out.find(where[3]), std::string::npos) << where[3];
    if (where[1] != "nft") continue;
    // nft -c, which needs root and nft; under CI=true it must run.
    int status = 0;
    p0fbpf::testing::run_shell("nft --version", &status);
    if ((status != 0 || geteuid() != 0) && !p0fbpf::testing::running_in_ci()) {
      std::printf("nft -c needs root and nft (Debian: nftables): the suggested file is not checked\n");
      continue;
    }
    std::string path = p0fbpf::testing::temp_file("suggest_", "suggested.nft");
    std::ofstream(path) << rule.out;
    std::string said = p0fbpf::testing::run_shell("nft -c -f " + path, &status);
    EXPECT_EQ(status, 0) << said;
  }
  // Without -f they have nothing to shape.
  Outcome o = run_cli({"suggest", "-r", attack, "--hook", "prerouting"});
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("go with -f"), std::string::npos) << o.err;
  // Checked before any capture is read (a live one can take minutes): the
  // capture named here does not exist, and the error is the option's.
  for (std::vector<std::string> bad : std::vector<std::vector<std::string>>{
           {"-f", "nft", "--table", "inet"}, {"-f", "nft", "--rate", "0/s"}, {"-f", "nft", "--hook", "tc"},
           {"-f", "script", "--hook", "tc"}}) {
    std::vector<std::string> args = {"suggest", "-r", "/nonexistent.pcap"};
    args.insert(args.end(), bad.begin(), bad.end());
    o = run_cli(args);
    EXPECT_EQ(o.status, 2) << bad[3];
    EXPECT_EQ(o.err.find("nonexistent"), std::string::npos) << o.err;
    EXPECT_NE(o.err.find("error"), std::string::npos) << o.err;
  }
}

TEST(SuggestCommand, WarnsOfP0fLabelsItWouldAlsoMatch) {
  if (!std::ifstream("/etc/p0f/p0f.fp").good()) GTEST_SKIP() << "/etc/p0f/p0f.fp not found (apt-get install p0f)";
  // Linux 3.11's SYN as p0f.fp describes it (mss*20, scale 7).
  std::string attack = write_capture("attack.pcap", customers(40), Link::Ethernet);
  Outcome r = run_cli({"suggest", "-r", attack, "-F", "/etc/p0f/p0f.fp"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("also matches s:unix:Linux:3.11 and newer"), std::string::npos) << r.err;
  // The scanner's SYN is nmap's (p0f.fp: *:64-:0:1460:1024,0:mss::0).
  std::vector<PacketSpec> scanner = scanner_syns(50);
  Outcome nmap =
      run_cli({"suggest", "-r", write_capture("scanner.pcap", scanner, Link::Ethernet), "-F", "/etc/p0f/p0f.fp"});
  EXPECT_NE(nmap.err.find("also matches s:!:NMap:SYN scan\n"), std::string::npos) << nmap.err;
  // With another window it is nobody's in p0f.fp.
  for (auto& p : scanner) p.window = 4321;
  Outcome unknown =
      run_cli({"suggest", "-r", write_capture("unknown.pcap", scanner, Link::Ethernet), "-F", "/etc/p0f/p0f.fp"});
  EXPECT_EQ(unknown.status, 0);
  EXPECT_EQ(unknown.err.find("also matches"), std::string::npos) << unknown.err;
}

TEST(SuggestCommand, ResponseReadsSynAcks) {
  std::vector<PacketSpec> syn_acks = scanner_syns(80);
  for (auto& p : syn_acks) p.flags = 0x12;
  std::string path = write_capture("syn-acks.pcap", syn_acks, Link::Ethernet);
  Outcome r = run_cli({"suggest", "--response", "-r", path});
  EXPECT_EQ(r.status, 0) << r.err;
  auto sigs = signatures_in(r.out);
  ASSERT_EQ(sigs.size(), 1u) << r.out;
  EXPECT_NE(r.out.find("of 80 attack SYN+ACKs and 0 baseline SYN+ACKs"), std::string::npos) << r.out;
  EXPECT_EQ(run_cli({"test", "--response", "-r", path, sigs[0]}).out, "80 of 80 packets matched\n");
  // As SYNs, the capture has none.
  Outcome syns = run_cli({"suggest", "-r", path});
  EXPECT_EQ(syns.status, 2);
  EXPECT_EQ(syns.out, "");
  EXPECT_NE(syns.err.find("has no SYNs (80 packets read)\n  help: --response reads SYN+ACKs"), std::string::npos)
      << syns.err;
}

TEST(SuggestCommand, WarningsNameTheLabelsOfTheDatabaseGiven) {
  std::string database = temp("labels.fp");
  std::ofstream(database) << "classes = win,unix,other\n\n[tcp:request]\n\nlabel = s:unix:Scanner:one\n"
                             "sig = *:64-:0:1460:1024,0:mss::0\n\nlabel = s:unix:Other:two\n"
                             "sig = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0\n";
  std::string attack = write_capture("attack.pcap", scanner_syns(30), Link::Ethernet);
  Outcome r = run_cli({"suggest", "-r", attack, "-F", database});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("also matches s:unix:Scanner:one\n"), std::string::npos) << r.err;
  Outcome json = run_cli({"suggest", "-r", attack, "-F", database, "--json"});
  EXPECT_NE(json.out.find("\"also_matches\": [\"s:unix:Scanner:one\"]"), std::string::npos) << json.out;
  Outcome missing = run_cli({"suggest", "-r", attack, "-F", temp("no-such.fp")});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.out, "");
  std::remove(database.c_str());
}

TEST(SuggestCommand, CaptureWithoutSynsIsAnError) {
  std::vector<PacketSpec> acks = scanner_syns(10);
  for (auto& p : acks) p.flags = 0x10;
  std::string path = write_capture("acks.pcap", acks, Link::Ethernet);
  Outcome r = run_cli({"suggest", "-r", path});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("has no SYNs (10 packets read)"), std::string::npos) << r.err;
  // As a baseline too.
  Outcome baseline = run_cli({"suggest", "-r", write_capture("a.pcap", scanner_syns(10), Link::Raw), "--baseline", path});
  EXPECT_EQ(baseline.status, 2);
  EXPECT_EQ(baseline.out, "");
  EXPECT_NE(baseline.err.find("has no SYNs"), std::string::npos) << baseline.err;
}

TEST(SuggestCommand, CollateralOutsideZeroToOneIsAnError) {
  std::string attack = write_capture("attack.pcap", scanner_syns(10), Link::Ethernet);
  for (std::string value : {"1.5", "-0.1", "nan"}) {
    Outcome r = run_cli({"suggest", "-r", attack, "--max-collateral", value});
    EXPECT_EQ(r.status, 2) << value;
    EXPECT_EQ(r.out, "") << value;
    EXPECT_NE(r.err.find("--max-collateral"), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_cli({"suggest", "-r", attack, "--max-collateral", "1"}).status, 0);
}

// With --response, the messages speak of SYN+ACKs, never of SYNs.
TEST(SuggestCommand, ResponseMessagesSpeakOfSynAcks) {
  std::vector<PacketSpec> mixed = scanner_syns(60);
  std::vector<PacketSpec> own = customers(40);
  for (const auto& p : own) mixed.push_back(p);
  for (auto& p : mixed) p.flags = 0x12;
  for (auto& p : own) p.flags = 0x12;
  std::string attack = write_capture("attack-sa.pcap", mixed, Link::Ethernet);
  std::string baseline = write_capture("baseline-sa.pcap", own, Link::Raw);
  Outcome strict = run_cli({"suggest", "--response", "-r", attack, "--baseline", baseline});
  EXPECT_EQ(strict.status, 2);
  EXPECT_NE(strict.err.find("40 of the 100 attack SYN+ACKs (40.0%) cannot be told from the baseline"),
            std::string::npos)
      << strict.err;
  EXPECT_NE(strict.err.find("baseline SYN+ACKs\n"), std::string::npos) << strict.err;
  EXPECT_EQ(strict.err.find("SYNs"), std::string::npos) << strict.err;
  Outcome none = run_cli({"suggest", "--response", "-r", baseline, "--baseline", baseline, "--best-effort"});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("no signature separates any attack SYN+ACK from the baseline"), std::string::npos)
      << none.err;
  Outcome range = run_cli({"suggest", "--response", "-r", attack, "--max-collateral", "2"});
  EXPECT_NE(range.err.find("baseline's SYN+ACKs to match"), std::string::npos) << range.err;
}

TEST(SuggestCommand, InseparableAttackIsAnErrorUnlessBestEffort) {
  // Half the attack is the customers' own SYN.
  std::vector<PacketSpec> mixed = scanner_syns(60);
  for (const auto& p : customers(40)) mixed.push_back(p);
  std::string attack = write_capture("attack.pcap", mixed, Link::Ethernet);
  std::string baseline = write_capture("baseline.pcap", customers(40), Link::Raw);
  Outcome strict = run_cli({"suggest", "-r", attack, "--baseline", baseline});
  EXPECT_EQ(strict.status, 2);
  EXPECT_EQ(strict.out, "");
  EXPECT_NE(strict.err.find("40 of the 100 attack SYNs (40.0%) cannot be told from the baseline"), std::string::npos)
      << strict.err;
  Outcome best = run_cli({"suggest", "-r", attack, "--baseline", baseline, "--best-effort"});
  EXPECT_EQ(best.status, 0) << best.err;
  EXPECT_NE(best.err.find("warning: 40 of the 100"), std::string::npos) << best.err;
  auto sigs = signatures_in(best.out);
  ASSERT_EQ(sigs.size(), 1u) << best.out;
  EXPECT_EQ(run_cli({"test", "-r", attack, sigs[0]}).out, "60 of 100 packets matched\n");
  EXPECT_EQ(run_cli({"test", "-r", baseline, sigs[0]}).out, "0 of 40 packets matched\n");
  // Nothing left to suggest: an error even with --best-effort.
  Outcome none = run_cli({"suggest", "-r", baseline, "--baseline", baseline, "--best-effort"});
  EXPECT_EQ(none.status, 2);
  EXPECT_EQ(none.out, "");
}

TEST(SuggestCommand, FullOutputIsAnError) {
  std::string attack = write_capture("attack.pcap", scanner_syns(10), Link::Ethernet);
  Outcome r = run_cli({"suggest", "-r", attack}, "/dev/full");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
  Outcome rule = run_cli({"suggest", "-r", attack, "-f", "asm"}, "/dev/full");
  EXPECT_EQ(rule.status, 2);
}

}  // namespace
