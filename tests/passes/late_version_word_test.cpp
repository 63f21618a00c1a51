#include "passes/late_version_word.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "database_file.hpp"
#include "p0fbpf/compiler.hpp"
#include "program_pairs.hpp"
#include "test_env.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

// The fields of a branch's checks, in order.
std::vector<std::string> fields(const Branch& branch) {
  std::vector<std::string> out;
  for (const ConditionPtr& c : conjuncts(branch.condition)) out.push_back(c->field);
  return out;
}

// An IPv6 branch's checks as lowering writes them: the first word, the
// second (a range of it), then a TCP field.
Branch ipv6_branch() {
  Branch b{"a",
          all({eq(bit_and(load(Width::Word, 0), 0xf03fffff), 0x60000000, "ver, quirks ecn, flow"),
               le(load(Width::Word, 4), 0x280640, "pclass, ttl"), ge(load(Width::Word, 4), 0x280620, "pclass, ttl"),
               eq(load(Width::Byte, 53), 2, "tcp flags")}),
          6, 14};
  b.framing = eq(frame_load(Width::Half, 12), 0x86dd, "link: ethertype");
  return b;
}

TEST(LateVersionWord, BehindALinkHeaderTheSecondWordGoesFirst) {
  Program p;
  p.branches = {ipv6_branch()};
  EXPECT_EQ(fields(late_version_word(p).branches[0]),
            (std::vector<std::string>{"pclass, ttl", "pclass, ttl", "ver, quirks ecn, flow", "tcp flags"}));
  // Checks of the first word's bytes (the flow quirk's version byte and
  // flow label) move together.
  Branch flow = ipv6_branch();
  std::vector<ConditionPtr> parts = conjuncts(flow.condition);
  parts[0] = eq(bit_and(load(Width::Byte, 0), 0xf0), 0x60, "ver");
  parts.insert(parts.begin() + 1, bits_set(load(Width::Word, 0), 0xfffff, "quirk flow"));
  flow.condition = all(parts);
  p.branches = {flow};
  EXPECT_EQ(fields(late_version_word(p).branches[0]),
            (std::vector<std::string>{"pclass, ttl", "pclass, ttl", "ver", "quirk flow", "tcp flags"}));
}

TEST(LateVersionWord, TheLinkChecksStayInFront) {
  Branch b = ipv6_branch();
  std::vector<ConditionPtr> parts = conjuncts(b.condition);
  parts.insert(parts.begin(), eq(frame_load(Width::Half, 14), 0x86dd, "link: protocol"));
  b.condition = all(parts);
  b.link_offset = 16;
  b.framing = nullptr;
  Program p;
  p.branches = {b};
  EXPECT_EQ(fields(late_version_word(p).branches[0]),
            (std::vector<std::string>{"link: protocol", "pclass, ttl", "pclass, ttl", "ver, quirks ecn, flow",
                                      "tcp flags"}));
}

TEST(LateVersionWord, WhereNothingMoves) {
  Program p;
  // Raw IP: the version split has loaded the first word. Behind an offset
  // without link checks (--l3-offset, loopback) nothing told the version.
  p.branches = {ipv6_branch()};
  p.branches[0].framing = nullptr;
  p.branches[0].link_offset = 0;
  EXPECT_TRUE(identical(late_version_word(p), p));
  p.branches[0].link_offset = 4;
  EXPECT_TRUE(identical(late_version_word(p), p));
  // IPv4 (its first word holds the datagram's length).
  p.branches = {ipv6_branch()};
  p.branches[0].ip_version = 4;
  EXPECT_TRUE(identical(late_version_word(p), p));
  // No check of the second word right after the first's.
  Branch b = ipv6_branch();
  std::vector<ConditionPtr> parts = conjuncts(b.condition);
  std::swap(parts[1], parts[3]);
  b.condition = all(parts);
  p.branches = {b};
  EXPECT_TRUE(identical(late_version_word(p), p));
}

// Every label of a database, in every form, with and without the pass: the
// same verdicts, and no fit lost.
void compare_database(const std::string& path) {
  std::optional<DatabaseResult> read = testing::read_database_file(path);
  P0FBPF_REQUIRE(read, path + " missing (apt-get install p0f)");
  ASSERT_TRUE(read->ok());
  testing::PairCounts counts = testing::compare_program_pairs(
      read->database, 31, [](CompileOptions&) {}, [](CompileOptions& options) { options.late_version_word = false; },
      [&](const testing::ProgramPair& pair) {
        if (pair.options.link.type == LinkType::Raw) {
          const auto& now = pair.now.instructions;
          const auto& before = pair.before.instructions;
          EXPECT_TRUE(now.size() == before.size() &&
                      std::memcmp(now.data(), before.data(), now.size() * sizeof(now[0])) == 0)
              << pair.label.text;
        }
      });
  std::printf("%s: %zu programs, %zu changed; %zu verdicts compared, %zu accepted\n", path.c_str(), counts.programs,
              counts.changed, counts.packets, counts.accepted);
  EXPECT_GT(counts.changed, 0u);
  EXPECT_GT(counts.accepted, counts.packets / 20);
}

TEST(LateVersionWordEquivalence, EveryLabelOfP0fFp) { compare_database("/etc/p0f/p0f.fp"); }

TEST(LateVersionWordEquivalence, EveryLabelOfTheBundledDatabase) {
  compare_database(std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp");
}

}  // namespace
}  // namespace p0fbpf
