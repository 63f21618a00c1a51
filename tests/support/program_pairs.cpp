#include "program_pairs.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "bpf_run.hpp"
#include "p0fbpf/parser.hpp"
#include "packet_builder.hpp"
#include "signature_packets.hpp"
#include "test_seed.hpp"

namespace p0fbpf::testing {
namespace {

bool same_code(const BpfProgram& a, const BpfProgram& b) {
  return std::equal(a.instructions.begin(), a.instructions.end(), b.instructions.begin(), b.instructions.end(),
                    [](const bpf_insn& x, const bpf_insn& y) {
                      return x.code == y.code && x.jt == y.jt && x.jf == y.jf && x.k == y.k;
                    });
}

void compare_label(const DatabaseLabel& label, Random& rng, const std::function<void(CompileOptions&)>& now,
                   const std::function<void(CompileOptions&)>& before,
                   const std::function<void(const ProgramPair&)>& check, PairCounts& counts) {
  std::vector<Signature> signatures;
  for (const SignatureSource& source : label.signatures) signatures.push_back(*parse_signature(source.text));
  auto packets = packets_around(signatures, label.direction == Direction::Response, 6, rng);
  for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
    for (LinkType link : {LinkType::Raw, LinkType::Ethernet}) {
      for (int variant = 0; variant < 4; ++variant) {
        for (std::size_t fit : {std::size_t{64}, std::size_t{4096}}) {
          CompileOptions options;
          options.mode = mode;
          options.link.type = link;
          options.direction = label.direction;
          options.fit_within = fit;
          options.negate = variant == 1;
          options.verdict_per_signature = variant == 2;
          options.syn_gate = variant == 3;
          options.not_syn_verdict = variant == 3 ? 7 : 0;
          now(options);
          Compilation new_program = compile(label.signatures, options);
          CompileOptions old_options = options;
          before(old_options);
          Compilation old_program = compile(label.signatures, old_options);
          ASSERT_TRUE(new_program.ok() && old_program.ok()) << label.text;
          const BpfProgram& a = *new_program.program;
          const BpfProgram& b = *old_program.program;
          ASSERT_TRUE(is_valid(a)) << label.text;
          ASSERT_TRUE(b.instructions.size() > fit || a.instructions.size() <= fit)
              << label.text << ": a fit lost, " << a.instructions.size() << " instructions";
          if (check) check({label, options, a, b});
          ++counts.programs;
          counts.changed += !same_code(a, b);
          counts.smaller += a.instructions.size() < b.instructions.size();
          for (const auto& [ip, v6] : packets) {
            // Behind Ethernet, untagged and behind an 802.1Q tag.
            for (bool tagged : {false, true}) {
              if (tagged && link == LinkType::Raw) continue;
              std::vector<std::uint8_t> packet = link == LinkType::Raw ? ip : ethernet_frame(ip, v6, tagged);
              std::uint32_t old_verdict = run_bpf(b, packet);
              ASSERT_EQ(run_bpf(a, packet), old_verdict)
                  << label.text << ", mode " << static_cast<int>(mode) << ", link " << static_cast<int>(link)
                  << ", variant " << variant << ", fit " << fit << ", packet " << hex(packet);
              ++counts.packets;
              counts.accepted += old_verdict != 0;
            }
          }
        }
      }
    }
  }
}

}  // namespace

PairCounts compare_program_pairs(const Database& database, std::uint64_t seed,
                                 const std::function<void(CompileOptions&)>& now,
                                 const std::function<void(CompileOptions&)>& before,
                                 const std::function<void(const ProgramPair&)>& check) {
  Random rng(seed);
  PairCounts counts;
  DatabaseLabel requests{"every [tcp:request] signature", Direction::Request, {}};
  for (const DatabaseLabel& label : database.labels) {
    if (label.signatures.empty()) continue;
    compare_label(label, rng, now, before, check, counts);
    if (::testing::Test::HasFatalFailure()) return counts;
    if (label.direction == Direction::Request) {
      requests.signatures.insert(requests.signatures.end(), label.signatures.begin(), label.signatures.end());
    }
  }
  compare_label(requests, rng, now, before, check, counts);
  return counts;
}

}  // namespace p0fbpf::testing
