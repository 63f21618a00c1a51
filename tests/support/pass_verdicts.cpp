#include "pass_verdicts.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "ir/evaluate.hpp"
#include "p0fbpf/parser.hpp"
#include "signature_packets.hpp"

namespace p0fbpf::testing {

std::map<std::string, PassVerdicts, std::less<>> expect_passes_keep_verdicts(const std::vector<std::string_view>& passes) {
  std::map<std::string, PassVerdicts, std::less<>> out;
  for (std::string_view pass : passes) out[std::string(pass)];
  Random rng(5150);
  std::vector<TcpSignature> sigs;
  for (const char* path : {"/etc/p0f/p0f.fp", P0FBPF_TEST_DATA "/../signatures/examples.fp",
                           P0FBPF_TEST_DATA "/../signatures/p0fbpf.fp"}) {
    for (const auto& s : tcp_signatures(path)) sigs.push_back(s);
  }
  EXPECT_GE(sigs.size(), 5u);
  for (std::size_t n = 0; n < sigs.size(); ++n) {
    // Each signature with the next of its section: neighbours often share
    // a label, and so a branch.
    const TcpSignature& s = sigs[n];
    std::vector<SignatureSource> sources = {{s.text, ""}};
    if (n + 1 < sigs.size() && sigs[n + 1].response == s.response) sources.push_back({sigs[n + 1].text, ""});
    // IP datagrams and their Ethernet frames (every fourth with a VLAN tag).
    std::vector<std::pair<std::vector<std::uint8_t>, std::vector<std::uint8_t>>> packets;
    for (int i = 0; i < 16; ++i) {
      Signature sig = *parse_signature(sources[static_cast<std::size_t>(i) % sources.size()].text);
      bool v6 = sig.version == IpVersion::V6 || (sig.version == IpVersion::Any && i % 4 >= 2);
      PacketSpec p = i % 6 == 5 ? random_packet(v6, s.response, rng) : matching_packet(sig, v6, s.response, rng);
      if (i % 3 != 0) p = mutate(p, rng);
      auto ip = build_packet(p);
      packets.emplace_back(ip, ethernet_frame(ip, p.ipv6, i % 5 == 4));
    }
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      for (LinkType link : {LinkType::Raw, LinkType::Ethernet}) {
        for (bool negate : {false, true}) {
          CompileOptions options;
          options.verify_each_pass = true;
          options.mode = mode;
          options.direction = s.response ? Direction::Response : Direction::Request;
          options.link.type = link;
          options.negate = negate;
          options.fit_within = 1;  // every form
          bool ether = link == LinkType::Ethernet;
          options.observe_passes = [&](const PassReport& report) {
            auto counted = out.find(report.pass);
            if (counted == out.end()) return;
            const std::string_view pass = report.pass;
            PassVerdicts& counts = counted->second;
            ++counts.runs;
            counts.changed += report.changed;
            for (const auto& [ip, frame] : packets) {
              const auto& before = report.pass == "link" || !ether ? ip : frame;
              const auto& after = ether ? frame : ip;
              ir::Verdict was = ir::evaluate(report.before, before, negate);
              // What guard-reads is for: a negated program that a short
              // packet ended (0, "matches") now rejects it.
              if (report.pass == "guard-reads" && was.ended) continue;
              ir::Verdict now = ir::evaluate(report.program, after, negate);
              // drop-implied-lengths leaves a truncated datagram to end the
              // program, which rejects it; negated, guard-reads then checks
              // the length again.
              if (report.pass == "drop-implied-lengths" && negate && now.ended) continue;
              bool a = was.accepted;
              bool b = now.accepted;
              ++counts.packets;
              counts.accepted += was.branch && now.branch;
              // order-versions and copy-per-tag move branches, widen-masks
              // copies them, drop-last-guards drops their guards and
              // frame-once their framing, never changing the first that
              // accepts a packet (what a verdict per signature returns).
              bool keeps_first = report.pass == "order-versions" || report.pass == "copy-per-tag" ||
                                 report.pass == "widen-masks" || report.pass == "drop-last-guards" ||
                                 report.pass == "frame-once";
              if (keeps_first && was.branch && now.branch) {
                const ir::Branch& first = report.before.branches[*was.branch];
                const ir::Branch& moved = report.program.branches[*now.branch];
                if (first.label != moved.label || first.signature != moved.signature) {
                  ADD_FAILURE() << pass << " changed the first branch that accepts a packet from " << first.label
                                << " to " << moved.label << " for " << s.text;
                }
              }
              if (a != b) {
                ADD_FAILURE() << pass << " changed the verdict from " << a << " to " << b << " for " << s.text
                              << " (" << report.scope << (negate ? ", negated" : "")
                              << (ether ? ", ethernet" : "") << ")\nbefore:\n"
                              << ir::to_string(report.before) << "after:\n"
                              << ir::to_string(report.program);
              }
            }
          };
          EXPECT_TRUE(compile(sources, options).ok()) << s.text;
          if (::testing::Test::HasFailure()) return out;
        }
      }
    }
  }
  for (const auto& [pass, counts] : out) {
    std::printf("%s: %zu runs, %zu changed the program, %zu verdicts compared, %zu matches\n", pass.c_str(),
                counts.runs, counts.changed, counts.packets, counts.accepted);
    EXPECT_GT(counts.changed, 0u) << pass;
    EXPECT_GT(counts.accepted, 0u) << pass;
  }
  return out;
}

}  // namespace p0fbpf::testing
