// signatures/p0fbpf.fp, the project's own database, without root: every
// signature parses and compiles exactly, alone within xt_bpf's 64
// instructions; no two labels share a packet; and p0f 3.09b itself, given
// the database with -f, names packets built for each signature by that
// signature's label, strictly (tests/measured_signatures_test.cpp checks
// the measured entries against the live kernel and tools). The entries from
// public facts each name their source in a "; source:" comment, and those
// kept from p0f 3.09b are in p0f's own database under the same label.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "bpf_run.hpp"
#include "cli_run.hpp"
#include "database_sources.hpp"
#include "p0f_oracle.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"
#include "p0fbpf/overlap.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"
#include "test_env.hpp"
#include "test_seed.hpp"

namespace p0fbpf::testing {
namespace {

const std::string kDatabase = std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp";

std::string database_text() {
  std::ifstream in(kDatabase);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + kDatabase);
  return text.str();
}

Database database() {
  std::ifstream in(kDatabase);
  std::stringstream text;
  text << in.rdbuf();
  DatabaseResult read = read_database(text.str(), kDatabase);
  std::string errors;
  for (const auto& e : read.errors) errors += e.render();
  if (!in || !read.ok()) throw std::runtime_error("cannot read " + kDatabase + ": " + errors);
  return read.database;
}

// What p0f prints for a label type:class:name:flavor: "name flavor".
std::string p0f_name(const std::string& label) {
  std::size_t at = 0;
  for (int i = 0; i < 2; ++i) at = label.find(':', at) + 1;
  std::string rest = label.substr(at);
  std::size_t colon = rest.find(':');
  std::string name = rest.substr(0, colon), flavor = rest.substr(colon + 1);
  return flavor.empty() ? name : name + " " + flavor;
}

CompileOptions exact(Direction direction, std::size_t fit_within = 0) {
  CompileOptions options;
  options.mode = MatchMode::Exact;
  options.direction = direction;
  options.fit_within = fit_within;
  options.verify_each_pass = true;
  return options;
}

TEST(SignatureDatabase, ReadsWithBothSections) {
  Database db = database();
  std::size_t requests = 0, responses = 0;
  for (const auto& label : db.labels) {
    EXPECT_FALSE(label.signatures.empty()) << label.text;
    (label.direction == Direction::Request ? requests : responses) += label.signatures.size();
  }
  EXPECT_GT(requests, 0u);
  EXPECT_GT(responses, 0u);
}

TEST(SignatureDatabase, EverySignatureCompilesExactlyAndFitsAlone) {
  for (const auto& label : database().labels) {
    for (const auto& source : label.signatures) {
      SCOPED_TRACE(fmt::format("{} ({}): {}", label.text, source.origin, source.text));
      ASSERT_TRUE(parse_signature(source.text).ok());
      Compilation c = compile({source}, exact(label.direction, 64));
      std::string diagnostics;
      for (const auto& d : c.diagnostics) diagnostics += d.render();
      ASSERT_TRUE(c.ok()) << diagnostics;
      EXPECT_TRUE(diagnostics.empty()) << diagnostics;
      EXPECT_TRUE(c.can_match());
      EXPECT_TRUE(is_valid(*c.program));
      EXPECT_LE(c.program->instructions.size(), 64u);
    }
  }
}

TEST(SignatureDatabase, NoTwoLabelsShareAPacket) {
  Database db = database();
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < db.labels.size(); ++i) {
    for (std::size_t j = i + 1; j < db.labels.size(); ++j) {
      const auto& a = db.labels[i];
      const auto& b = db.labels[j];
      if (a.direction != b.direction) continue;
      for (const auto& sa : a.signatures) {
        for (const auto& sb : b.signatures) {
          auto pa = parse_signature(sa.text);
          auto pb = parse_signature(sb.text);
          ASSERT_TRUE(pa.ok() && pb.ok());
          ++pairs;
          auto shared = shared_packet(pa.value(), pb.value());
          EXPECT_FALSE(shared.has_value())
              << a.text << " (" << sa.text << ") and " << b.text << " (" << sb.text
              << ") share a packet: IPv" << (shared ? shared->ip_version : 0) << ", TTL "
              << (shared ? shared->ttl : 0) << ", MSS " << (shared ? shared->mss : 0) << ", window "
              << (shared ? shared->window : 0) << ", scale " << (shared ? shared->scale : 0);
        }
      }
    }
  }
  EXPECT_GT(pairs, 100u);
}

// Packets built for every signature, through p0f with the whole database,
// one run per section: p0f names each by its signature's label, strictly;
// the signature's own program (fastest form) accepts the same bytes.
TEST(SignatureDatabase, P0fNamesEachSignaturesPacketsByItsLabel) {
  auto p0f = find_p0f();
  P0FBPF_REQUIRE(p0f.has_value(), "p0f is not installed (apt-get install p0f)");
  const std::uint64_t seed = seed_from_env();
  fmt::print("seed {} (P0FBPF_SEED repeats it)\n", seed);
  Random rng(seed);
  constexpr int kPacketsPerVersion = 12;
  Database db = database();
  for (Direction direction : {Direction::Request, Direction::Response}) {
    bool response = direction == Direction::Response;
    struct Expected {
      std::string label, signature;
    };
    std::vector<PacketSpec> packets;
    std::vector<Expected> expected;
    for (const auto& label : db.labels) {
      if (label.direction != direction) continue;
      for (const auto& source : label.signatures) {
        auto sig = parse_signature(source.text);
        ASSERT_TRUE(sig.ok()) << source.text;
        Compilation program = compile({source}, exact(direction));
        ASSERT_TRUE(program.ok()) << source.text;
        std::vector<bool> versions;
        if (sig.value().version != IpVersion::V6) versions.push_back(false);
        if (sig.value().version != IpVersion::V4) versions.push_back(true);
        for (bool ipv6 : versions) {
          for (int i = 0; i < kPacketsPerVersion; ++i) {
            PacketSpec spec = matching_packet(sig.value(), ipv6, response, rng);
            PacketSpec flowed = spec;
            assign_flow(flowed, packets.size(), response);
            auto bytes = build_packet(flowed);
            EXPECT_NE(run_bpf(*program.program, bytes), 0u)
                << source.text << " rejects a packet built for it: " << hex(bytes);
            packets.push_back(spec);
            expected.push_back({p0f_name(label.text), source.text});
          }
        }
      }
    }
    ASSERT_FALSE(packets.empty());
    auto verdicts = run_p0f_with_database(*p0f, packets, kDatabase, response);
    ASSERT_EQ(verdicts.size(), packets.size());
    for (std::size_t i = 0; i < packets.size(); ++i) {
      PacketSpec spec = packets[i];
      assign_flow(spec, i, response);
      const auto& v = verdicts[i];
      EXPECT_TRUE(v.fingerprinted && v.label == expected[i].label && !v.fuzzy)
          << "packet built for " << expected[i].signature << " (" << expected[i].label << "): p0f says "
          << (v.fingerprinted ? v.label : "nothing") << (v.fuzzy ? " (fuzzy)" : "") << ", raw_sig " << v.raw_sig
          << "; packet " << hex(build_packet(spec));
    }
  }
}

// The stacks of issue 25 that public facts cover, each under its own label,
// every signature of which names a source.
const std::vector<std::string> kSourcedLabels = {
    "s:win:Windows:10 or 11",
    "s:win:Windows:Server 2019 or 2022",
    "s:unix:Apple:macOS or iOS",
    "s:unix:Android:10 or newer",
    "s:unix:FreeBSD:11 or newer",
    "s:unix:OpenBSD:6.1 or newer",
    "s:win:Windows:XP",
    "s:win:Windows:7 or 8",
    "s:unix:Mac OS X:10.x",
    "s:unix:MacOS X:10.9 or newer (sometimes iPhone or iPad)",
};

// A label is measured here or from public facts, never half of each; each
// source names a repository path or a document (something with a '/', or
// p0f 3.09b's own database), and the public labels are the ones expected.
TEST(SignatureDatabase, EverySignatureNotMeasuredNamesItsSource) {
  auto sourced = sourced_signature_lines(database_text());
  std::set<std::string> public_labels;
  std::size_t count = 0;
  for (const auto& label : database().labels) {
    std::size_t with_source = 0;
    for (const auto& source : label.signatures) {
      auto found = sourced.find(origin_line(source.origin));
      if (found == sourced.end()) continue;
      ++with_source;
      ++count;
      const std::string& named = found->second;
      EXPECT_TRUE(named.find('/') != std::string::npos || named.find("p0f 3.09b") != std::string::npos)
          << source.origin << ": the source names no repository, path or document: " << named;
    }
    EXPECT_TRUE(with_source == 0 || with_source == label.signatures.size())
        << label.text << ": " << with_source << " of its " << label.signatures.size()
        << " signatures name a source; a label is either measured or sourced";
    if (with_source) public_labels.insert(label.text);
  }
  EXPECT_EQ(public_labels, std::set<std::string>(kSourcedLabels.begin(), kSourcedLabels.end()));
  EXPECT_EQ(count, sourced.size()) << "a source comment above a signature outside [tcp:request]/[tcp:response]";
}

// Every signature whose source names p0f 3.09b is in p0f's database, in the
// same section, under the same label: --label patterns written for p0f's
// labels select it here too.
TEST(SignatureDatabase, KeptEntriesAreP0fsOwnUnderTheSameLabel) {
  const std::string p0f_path = "/etc/p0f/p0f.fp";
  std::ifstream in(p0f_path);
  P0FBPF_REQUIRE(in.good(), "/etc/p0f/p0f.fp is missing (apt-get install p0f)");
  std::stringstream text;
  text << in.rdbuf();
  DatabaseResult p0f = read_database(text.str(), p0f_path);
  ASSERT_TRUE(p0f.ok());
  std::set<std::tuple<Direction, std::string, std::string>> p0f_entries;
  for (const auto& label : p0f.database.labels) {
    for (const auto& s : label.signatures) p0f_entries.insert({label.direction, label.text, s.text});
  }
  auto sourced = sourced_signature_lines(database_text());
  std::size_t kept = 0;
  for (const auto& label : database().labels) {
    for (const auto& source : label.signatures) {
      auto found = sourced.find(origin_line(source.origin));
      if (found == sourced.end() || found->second.find("p0f 3.09b p0f.fp") == std::string::npos) continue;
      ++kept;
      EXPECT_TRUE(p0f_entries.count({label.direction, label.text, source.text}))
          << source.origin << ": " << label.text << " / " << source.text << " is not in " << p0f_path;
    }
  }
  EXPECT_EQ(kept, 10u);
}

// The guide's commands for the labels from public facts, as written there
// (the repository's database named by its path in this tree): the Windows
// label fits one program, the four Unix labels need --split, one program
// a line.
TEST(SignatureDatabase, GuideCommandsOfPublicLabels) {
  std::ifstream readme(std::string(P0FBPF_TEST_DATA) + "/../docs/guide.md");
  std::stringstream text;
  text << readme.rdbuf();
  ASSERT_TRUE(readme.good() || readme.eof());
  struct Command {
    std::string pattern;
    bool split;
    std::size_t min_lines, max_lines;
  };
  for (const Command& c : {Command{"^s:win:Windows:10 or 11$", true, 2, 2},
                           Command{"^s:unix:(Apple|Android|FreeBSD|OpenBSD):", true, 2, 7}}) {
    std::string line = "    p0fbpf -F signatures/p0fbpf.fp --label '" + c.pattern + "'" + (c.split ? " --split" : "");
    EXPECT_NE(text.str().find(line + "\n"), std::string::npos) << "docs/guide.md lacks: " << line;
    std::vector<std::string> args = {"-F", kDatabase, "--label", c.pattern};
    if (c.split) args.push_back("--split");
    Outcome r = run_p0fbpf(args);
    EXPECT_EQ(r.status, 0) << line << "\n" << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    std::size_t lines = static_cast<std::size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
    EXPECT_GE(lines, c.min_lines) << r.out;
    EXPECT_LE(lines, c.max_lines) << r.out;
  }
}

}  // namespace
}  // namespace p0fbpf::testing
