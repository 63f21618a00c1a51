// `p0fbpf xdp stats --prometheus`: Prometheus' text exposition format,
// checked by Prometheus' own parser and linter (`promtool check metrics`,
// Debian package prometheus), with labels from a hostile database: quotes,
// backslashes, a newline, non-ASCII text, control characters and bytes
// that are not UTF-8. The last test attaches a program in a namespace (root)
// and checks what the command prints.
#include "cli/prometheus.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "bpffs.hpp"
#include "cli_run.hpp"
#include "netns.hpp"
#include "test_env.hpp"
#include "text_match.hpp"

namespace p0fbpf::cli {
namespace {

using testing::run_shell;
using testing::shell_quote;

constexpr const char* kSig1 = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
constexpr const char* kSig2 = "4:255:0:0:65535,0:::0";

bool have_promtool() {
  int status = 0;
  run_shell("command -v promtool", &status);
  return status == 0;
}

// promtool check metrics on `text`: its exit status (0: parsed, and no lint
// problem) and what it said.
std::pair<int, std::string> promtool(const std::string& text) {
  std::string path = testing::temp_file("prometheus_", "metrics.prom");
  std::ofstream(path, std::ios::binary) << text;
  int status = 0;
  std::string out = run_shell("promtool check metrics < " + path, &status);
  return {status, out};
}

#define EXPECT_PROMTOOL_ACCEPTS(text)                                                          \
  do {                                                                                         \
    P0FBPF_REQUIRE(have_promtool(), "promtool missing (apt-get install prometheus)");          \
    auto [promtool_status, said] = promtool(text);                                             \
    EXPECT_EQ(promtool_status, 0) << said << "\n" << (text);                                   \
  } while (0)

// The value of a label as the format writes it, unescaped: the reader's side.
std::string unescape(const std::string& value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\' || i + 1 == value.size()) {
      out += value[i];
      continue;
    }
    char next = value[++i];
    out += next == 'n' ? '\n' : next;
  }
  return out;
}

// The values of `label` in the samples of `metric`, in order.
std::vector<std::string> label_values(const std::string& text, const std::string& metric, const std::string& label) {
  std::vector<std::string> out;
  std::istringstream lines(text);
  const std::string value = label + "=\"((?:[^\"\\\\]|\\\\.)*)\"";
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(metric + "{", 0) != 0) continue;
    if (auto m = testing::first_match(line, value)) out.push_back(unescape((*m)[0]));
  }
  return out;
}

xdp::Stats two_signatures() {
  xdp::Stats stats;
  stats.program_id = 42;
  stats.mode = xdp::Mode::Native;
  stats.seen = 1000;
  stats.syns = 300;
  stats.attached_unix = 1780000000;
  stats.matches = {{std::string("s:unix:Linux:6.x: ") + kSig1, 7}, {kSig2, 0}};
  return stats;
}

TEST(Prometheus, CountersWithHelpTypeAndLabels) {
  std::string text = prometheus_text("eth0", two_signatures());
  EXPECT_PROMTOOL_ACCEPTS(text);
  for (const std::string& line :
       {std::string("# TYPE p0fbpf_xdp_packets_total counter\np0fbpf_xdp_packets_total{device=\"eth0\"} 1000\n"),
        std::string("# TYPE p0fbpf_xdp_syns_total counter\np0fbpf_xdp_syns_total{device=\"eth0\"} 300\n"),
        std::string("# TYPE p0fbpf_xdp_matches_total counter\n"),
        fmt::format("p0fbpf_xdp_matches_total{{device=\"eth0\",label=\"s:unix:Linux:6.x\",signature=\"{}\"}} 7\n",
                    kSig1),
        fmt::format("p0fbpf_xdp_matches_total{{device=\"eth0\",label=\"\",signature=\"{}\"}} 0\n", kSig2),
        std::string("p0fbpf_xdp_attached_timestamp_seconds{device=\"eth0\"} 1780000000\n"),
        std::string("p0fbpf_xdp_info{device=\"eth0\",program_id=\"42\",mode=\"native\",action=\"drop\"} 1\n")}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
  // Every family has its HELP line.
  for (const char* name : {"packets_total", "syns_total", "matches_total", "attached_timestamp_seconds", "info"}) {
    EXPECT_NE(text.find(std::string("# HELP p0fbpf_xdp_") + name + " "), std::string::npos) << name;
  }
}

TEST(Prometheus, WithoutSynCounterOrAttachTime) {
  xdp::Stats stats = two_signatures();
  stats.syns.reset();
  stats.attached_unix = 0;
  stats.count_only = true;
  std::string text = prometheus_text("eth0", stats);
  EXPECT_PROMTOOL_ACCEPTS(text);
  EXPECT_EQ(text.find("p0fbpf_xdp_syns_total"), std::string::npos) << text;
  EXPECT_EQ(text.find("p0fbpf_xdp_attached_timestamp_seconds"), std::string::npos) << text;
  EXPECT_NE(text.find("action=\"count-only\""), std::string::npos) << text;
}

// Two slots of one name would be two samples of one series, which
// Prometheus refuses: they are one, their counts summed.
TEST(Prometheus, ANameGivenTwiceIsOneSeries) {
  xdp::Stats stats = two_signatures();
  stats.matches = {{kSig2, 3}, {kSig1, 1}, {kSig2, 4}};
  std::string text = prometheus_text("eth0", stats);
  EXPECT_PROMTOOL_ACCEPTS(text);
  EXPECT_EQ(label_values(text, "p0fbpf_xdp_matches_total", "signature"), (std::vector<std::string>{kSig2, kSig1}));
  EXPECT_NE(text.find(fmt::format("signature=\"{}\"}} 7\n", kSig2)), std::string::npos) << text;
}

TEST(Prometheus, HostileLabelsAreEscapedAndStayOffTheTerminal) {
  const std::string hostile = "s:unix:\"quoted\" \\back\\slash\\\nnext line é 日本 ";
  xdp::Stats stats = two_signatures();
  stats.matches = {{hostile + "\x1b[2J\x07\x9b\xff\xc3: " + kSig1, 5},
                   {"a label: with: colons: " + std::string(kSig2), 6}};
  std::string text = prometheus_text("dev\"\\0", stats);
  EXPECT_PROMTOOL_ACCEPTS(text);
  // A reader gets the label back, the bytes a terminal would act on (ESC,
  // BEL, a lone C1 byte, 0xff, a cut sequence) as U+FFFD.
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(label_values(text, "p0fbpf_xdp_matches_total", "label"),
            (std::vector<std::string>{hostile + r + "[2J" + r + r + r + r, "a label: with: colons"}));
  EXPECT_EQ(label_values(text, "p0fbpf_xdp_matches_total", "signature"), (std::vector<std::string>{kSig1, kSig2}));
  EXPECT_EQ(label_values(text, "p0fbpf_xdp_packets_total", "device"), (std::vector<std::string>{"dev\"\\0"}));
  // Each sample on its line; nothing but newlines below space, no DEL.
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(c == '\n' || (byte >= 0x20 && byte != 0x7f)) << int(byte);
  }
  EXPECT_NE(text.find("\\n"), std::string::npos);
}

TEST(Prometheus, LabelValueEscapes) {
  EXPECT_EQ(prometheus_label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(prometheus_label_value("é"), "é");
  EXPECT_EQ(prometheus_label_value("\xc2\x85"), "\xef\xbf\xbd\xef\xbf\xbd");  // NEL, a C1 control
  EXPECT_EQ(prometheus_label_value("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong '/'
  EXPECT_EQ(prometheus_label_value("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  EXPECT_EQ(prometheus_label_value("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
}

// The command itself: a program attached in a namespace with a label from a
// hostile database; xdp stats --prometheus passes promtool and names it.
TEST(PrometheusCommand, XdpStatsOfAnAttachedProgram) {
  P0FBPF_REQUIRE(geteuid() == 0, "needs root for network namespaces, XDP and bpffs");
  P0FBPF_REQUIRE(have_promtool(), "promtool missing (apt-get install prometheus)");
  testing::Namespaces ns("p0fbpf-deb");
  testing::Bpffs bpffs("deb");
  P0FBPF_REQUIRE(bpffs.mounted(), "cannot mount a BPF file system at " + bpffs.path());
  std::string database = testing::temp_file("prometheus_", "hostile.fp");
  std::ofstream(database, std::ios::binary) << "[tcp:request]\nlabel = s:unix:\"evil\\\" é:1\nsig = " << kSig1
                                            << "\n";
  const std::string binary = shell_quote(P0FBPF_BINARY);
  const std::string in_b = "ip netns exec " + ns.b() + " ";
  int status = 0;
  std::string out = run_shell(in_b + binary + " xdp attach vb --count-only --bpffs " + bpffs.path() + " -F " +
                                  database + " --label evil " + kSig2,
                              &status);
  ASSERT_EQ(status, 0) << out;
  // The guide's textfile collector line (docs/guide.md), into a directory of the test's own.
  std::string dir = testing::temp_file("prometheus_", "textfile");
  std::string metrics = dir + "/p0fbpf-vb.prom";
  run_shell(fmt::format("mkdir -p {0} && {1} sh -c {2}", dir, in_b,
                        shell_quote(binary + " xdp stats vb --prometheus > " + metrics + ".tmp && mv " + metrics +
                                    ".tmp " + metrics)),
            &status);
  EXPECT_EQ(status, 0);
  std::string text = testing::read_bytes(metrics);
  run_shell("rm -rf " + dir);
  EXPECT_PROMTOOL_ACCEPTS(text);
  EXPECT_EQ(label_values(text, "p0fbpf_xdp_matches_total", "label"),
            (std::vector<std::string>{"", "s:unix:\"evil\\\" é:1"}));
  EXPECT_EQ(label_values(text, "p0fbpf_xdp_matches_total", "signature"), (std::vector<std::string>{kSig2, kSig1}));
  EXPECT_NE(text.find("p0fbpf_xdp_packets_total{device=\"vb\"} "), std::string::npos) << text;
  EXPECT_NE(text.find("action=\"count-only\""), std::string::npos) << text;
  // --json and --prometheus are one or the other.
  run_shell(in_b + binary + " xdp stats vb --prometheus --json", &status);
  EXPECT_EQ(status, 2);
  run_shell(in_b + binary + " xdp detach vb --bpffs " + bpffs.path(), &status);
  EXPECT_EQ(status, 0);
}

}  // namespace
}  // namespace p0fbpf::cli
