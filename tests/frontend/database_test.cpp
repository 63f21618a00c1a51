#include "p0fbpf/database.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "bpf_run.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

namespace p0fbpf {
namespace {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Database, ReadsEveryLineKind) {
  const std::string text =
      "; a comment\n"
      "classes = win,unix,other\n"
      "\n"
      "[mtu]\n"
      "label = Ethernet or modem\n"
      "sig   = 1500\n"
      "[tcp:request]\n"
      "  ; indented comment\n"
      "label = s:unix:Linux:3.11 and newer\n"
      "sys   = Linux\n"
      "sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0\n"
      "sig   = *:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0   \n"
      "label = g:win:Windows:\n"
      "sig   = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0\n"
      "[tcp:response]\n"
      "label = s:unix:Linux:3.x\n"
      "sig   = *:64:0:*:mss*10,4:mss,sok,ts,nop,ws:df:0\n"
      "[http:request]\n"
      "ua_os = Linux,Windows\n"
      "label = s:!:Chrome:11\n"
      "sig   = 1:Host,Connection=[keep-alive]::Chrome/\n";
  DatabaseResult r = read_database(text, "test.fp");
  ASSERT_TRUE(r.ok()) << r.errors[0].render();
  ASSERT_EQ(r.database.labels.size(), 3u);
  EXPECT_EQ(r.database.labels[0].text, "s:unix:Linux:3.11 and newer");
  EXPECT_EQ(r.database.labels[0].direction, Direction::Request);
  ASSERT_EQ(r.database.labels[0].signatures.size(), 2u);
  EXPECT_EQ(r.database.labels[0].signatures[1].text, "*:64:0:*:mss*20,7:mss,sok,ts,nop,ws:df,id+:0");
  EXPECT_EQ(r.database.labels[0].signatures[1].origin, "test.fp:12");
  EXPECT_EQ(r.database.labels[1].text, "g:win:Windows:");
  EXPECT_EQ(r.database.labels[2].direction, Direction::Response);
}

struct BadLine {
  const char* text;
  const char* message;
  std::size_t column;
  int line;
};

class DatabaseErrors : public ::testing::TestWithParam<BadLine> {};

TEST_P(DatabaseErrors, NameFileLineAndColumn) {
  DatabaseResult r = read_database(GetParam().text, "bad.fp");
  ASSERT_EQ(r.errors.size(), 1u);
  const SourcedDiagnostic& e = r.errors[0];
  EXPECT_NE(e.diagnostic.message.find(GetParam().message), std::string::npos) << e.diagnostic.message;
  EXPECT_EQ(e.diagnostic.span.begin, GetParam().column) << e.render();
  EXPECT_EQ(e.source.origin, "bad.fp:" + std::to_string(GetParam().line));
  EXPECT_EQ(e.render().rfind("bad.fp:" + std::to_string(GetParam().line) + ": error: ", 0), 0u) << e.render();
}

INSTANTIATE_TEST_SUITE_P(
    Reader, DatabaseErrors,
    ::testing::Values(BadLine{"[tcp:request]\nsig = 4:64:0:*:*,*:::0\n", "'sig' before any label", 0, 2},
                      BadLine{"[tcp:request]\nlabel = s:unix:X:1\nfrob = 1\n", "unknown key 'frob'", 0, 3},
                      BadLine{"[tcp:request]\nlabel s:unix:X:1\n", "expected '='", 6, 2},
                      BadLine{"[tcp:request]\nlabel = unix:X\n", "malformed label", 8, 2},
                      BadLine{"[tcp:request\n", "malformed section header", 0, 1},
                      BadLine{"label = s:unix:X:1\n", "before any [section]", 0, 1},
                      BadLine{"[tcp:request]\nlabel = s:unix:X:1\nsig   = 4:64:0:*:*,*::bogus:0\n", "unknown quirk",
                              22, 3},
                      BadLine{"[tcp:response]\nlabel = s:unix:X:1\n[tcp:request]\nsig = 4:64:0:*:*,*:::0\n",
                              "'sig' before any label", 0, 4}));

TEST(Database, ExampleFileAndLabelSelection) {
  DatabaseResult r = read_database(read(P0FBPF_TEST_DATA "/../signatures/examples.fp"), "examples.fp");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(select_labels(r.database, "Linux", Direction::Request)->size(), 1u);
  EXPECT_EQ(select_labels(r.database, "Linux", Direction::Response)->size(), 1u);
  EXPECT_EQ(select_labels(r.database, "Linux", std::nullopt)->size(), 2u);
  EXPECT_EQ(select_labels(r.database, "^s:win:", Direction::Request)->size(), 1u);
  EXPECT_EQ(select_labels(r.database, "", Direction::Request)->size(), 4u);
  EXPECT_TRUE(select_labels(r.database, "Plan 9", std::nullopt)->empty());
}

TEST(Database, ReadsP0fsOwnDatabase) {
  std::string text = read("/etc/p0f/p0f.fp");
  if (text.empty()) GTEST_SKIP() << "/etc/p0f/p0f.fp not found";
  DatabaseResult r = read_database(text, "p0f.fp");
  ASSERT_TRUE(r.ok()) << r.errors[0].render();
  std::size_t sigs = 0;
  for (const auto& l : r.database.labels) sigs += l.signatures.size();
  EXPECT_EQ(sigs, 192u);
}

// Split programs together accept exactly what one program for all of the
// signatures accepts, and what any one signature's own program accepts.
TEST(Split, SplitProgramsAgreeWithOneProgramAndEachSignature) {
  DatabaseResult r = read_database(read("/etc/p0f/p0f.fp"), "p0f.fp");
  if (r.database.labels.empty()) GTEST_SKIP() << "/etc/p0f/p0f.fp not found";
  auto labels = select_labels(r.database, "Windows|Linux:2", Direction::Request);
  ASSERT_TRUE(labels.ok());
  std::vector<SignatureSource> sources;
  for (const auto* l : *labels) sources.insert(sources.end(), l->signatures.begin(), l->signatures.end());
  ASSERT_GE(sources.size(), 8u);
  CompileOptions options;
  options.verify_each_pass = true;
  options.ip_version = 4;  // a * signature for both versions takes more than 64
  SplitCompilation split = compile_split(sources, options, 64);
  ASSERT_TRUE(split.ok);
  EXPECT_GT(split.programs.size(), 2u);
  for (const auto& p : split.programs) EXPECT_LE(p.instructions.size(), 64u);
  Compilation one = compile(sources, options);
  ASSERT_TRUE(one.ok());
  std::vector<BpfProgram> each;
  for (const auto& s : sources) each.push_back(*compile({s}, options).program);

  testing::Random rng(99);
  std::size_t matched = 0, total = 0;
  for (const auto& s : sources) {
    Signature sig = *parse_signature(s.text);
    for (int i = 0; i < 40; ++i) {
      if (sig.version == IpVersion::V6) break;
      testing::PacketSpec p = testing::matching_packet(sig, false, false, rng);
      if (i % 2) p = testing::mutate(p, rng);
      auto bytes = testing::build_packet(p);
      bool any_split = false, any_each = false;
      for (const auto& prog : split.programs) any_split |= testing::run_bpf(prog, bytes) != 0;
      for (const auto& prog : each) any_each |= testing::run_bpf(prog, bytes) != 0;
      bool whole = testing::run_bpf(*one.program, bytes) != 0;
      ASSERT_EQ(any_split, whole) << s.text;
      ASSERT_EQ(any_each, whole) << s.text;
      matched += whole;
      ++total;
    }
  }
  EXPECT_GT(matched, total / 4);
}

TEST(Split, OneTooLargeSignatureIsAnErrorOnIt) {
  SplitCompilation split = compile_split({{"4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", "x.fp:3"}}, {}, 20);
  EXPECT_FALSE(split.ok);
  EXPECT_TRUE(split.too_large);
  ASSERT_EQ(split.diagnostics.size(), 1u);
  EXPECT_NE(split.diagnostics[0].render().find("x.fp:3: error: this signature alone needs"), std::string::npos);
}

}  // namespace
}  // namespace p0fbpf
