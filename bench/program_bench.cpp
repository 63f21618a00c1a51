// Program size and speed, against bpftools' programs (libpcap compiling its
// tcpdump expression) measured in the same run, over every [tcp:request] and
// [tcp:response] signature of /etc/p0f/p0f.fp:
//   - size in exact mode (each * signature as one program for both IP
//     versions, and each signature taken as 4: and as 6:), in loose mode,
//     each as p0fbpf makes it for an iptables rule (within 64);
//   - instructions executed per packet, over matching and near-miss packets
//     (also by the * signatures' one programs);
//   - the size of one program for both signatures of Linux:3.11 and newer;
//   - compile latency of the whole p0fbpf process (as for an iptables rule).
//
//   build/bench/program_bench
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

#include <algorithm>
#include <cstdio>
#include <optional>
#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "bpftools.hpp"
#include "classic_steps.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "p0f_database.hpp"
#include "packet_builder.hpp"
#include "signature_packets.hpp"

namespace {

using namespace p0fbpf;
using bench::executed;

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::optional<BpfProgram> ours(const std::string& sig, bool response, MatchMode mode,
                               LinkType link = LinkType::Raw, std::size_t fit_within = 64) {
  CompileOptions options;
  options.mode = mode;
  options.link.type = link;
  options.direction = response ? Direction::Response : Direction::Request;
  options.fit_within = fit_within;  // 64: as p0fbpf does for iptables (-f iptables, the default)
  Compilation c = compile({{sig, ""}}, options);
  if (!c.ok()) return std::nullopt;
  return *c.program;
}

// The size of the program p0fbpf prints for a label of p0f.fp, within 64.
std::optional<std::size_t> label_program_size(const std::string& label) {
  std::string command =
      fmt::format("'{}' -F /etc/p0f/p0f.fp --label '{}' -f ddd --max-insns 64 2>/dev/null", P0FBPF_BINARY, label);
  FILE* out = popen(command.c_str(), "r");
  if (!out) return std::nullopt;
  unsigned long size = 0;
  bool read = std::fscanf(out, "%lu", &size) == 1;
  bool ok = pclose(out) == 0 && read;
  return ok ? std::optional<std::size_t>(size) : std::nullopt;
}

// The design card: sizes as p0fbpf prints them for an iptables rule (the
// smallest form where none fits 64), and steps over its packets.
void design_card_rows(testing::Random& rng) {
  const std::string card = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";
  const std::string star = "*" + card.substr(1);
  fmt::print("\n{:<52} {:>8} {:>8} {:>8}  {}\n", "design card (instructions)", "raw", "ether", "sll", "target");
  auto sizes = [&](const std::string& sig, std::size_t fit, const char* name, const char* target) {
    auto size = [&](LinkType link) {
      auto p = ours(sig, false, MatchMode::Exact, link, fit);
      return p ? static_cast<double>(p->instructions.size()) : 0.0;
    };
    fmt::print("{:<52} {:>8.0f} {:>8.0f} {:>8.0f}  {}\n", name, size(LinkType::Raw), size(LinkType::Ethernet),
               size(LinkType::LinuxCooked), target);
  };
  sizes(card, 64, "4: as an iptables rule", "ether <= 60");
  sizes(card, 0, "4: fastest (-f c)", "");
  sizes(star, 64, "*: within 64, or its smallest form", "ether <= 64");
  sizes(star, 0, "*: fastest (-f c)", "");
  auto raw = *ours(card, false, MatchMode::Exact);
  auto ether = *ours(card, false, MatchMode::Exact, LinkType::Ethernet);
  Signature sig = *parse_signature(card);
  std::vector<double> raw_steps, untagged, tagged, raw_match, untagged_match;
  for (int i = 0; i < 600; ++i) {
    testing::PacketSpec packet = testing::matching_packet(sig, false, false, rng);
    if (i % 3 != 0) packet = testing::mutate(packet, rng);
    if (packet.ipv6) continue;
    auto bytes = testing::build_packet(packet);
    raw_steps.push_back(static_cast<double>(executed(raw, bytes)));
    untagged.push_back(static_cast<double>(executed(ether, testing::ethernet_frame(bytes, false))));
    tagged.push_back(static_cast<double>(executed(ether, testing::ethernet_frame(bytes, false, true))));
    if (i % 3 == 0) {
      raw_match.push_back(raw_steps.back());
      untagged_match.push_back(untagged.back());
    }
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
  };
  fmt::print("{:<52} {:>8.1f} {:>8.1f}  tagged {:.1f}; target ether <= raw + 4\n",
             "4: steps, matching and near-miss packets", mean(raw_steps), mean(untagged), mean(tagged));
  fmt::print("{:<52} {:>8.1f} {:>8.1f}\n", "4: steps, the matching packets alone", mean(raw_match),
             mean(untagged_match));
}

}  // namespace

int main() {
  std::vector<std::pair<std::string, bool>> sigs;
  for (const auto& s : testing::tcp_signatures("/etc/p0f/p0f.fp")) sigs.emplace_back(s.text, s.response);
  if (sigs.empty()) {
    fmt::print(stderr, "no signatures: /etc/p0f/p0f.fp is missing (apt-get install p0f)\n");
    return 2;
  }
  testing::Random rng(7);
  std::vector<double> star_sizes, exact_sizes, loose_sizes, peer_sizes, exact_ratio, loose_ratio;
  std::vector<double> exact_steps, loose_steps, peer_steps;
  std::vector<double> star_steps, star_peer_steps;  // the packets of * signatures only
  // Behind a link header: sizes, and steps over the same packets framed.
  std::vector<double> ether_sizes, ether_star_sizes, sll_sizes, ether_untagged_steps, ether_tagged_steps;
  std::size_t ether_over = 0, ether_star_over = 0, sll_over = 0;
  std::size_t star_over = 0, variant_over = 0, loose_larger = 0, variants = 0, peer_over = 0;
  for (const auto& [sig, response] : sigs) {
    Signature parsed = *parse_signature(sig);
    std::optional<BpfProgram> star;
    if (parsed.version == IpVersion::Any) star = ours(sig, response, MatchMode::Exact);
    if (star) {
      star_sizes.push_back(static_cast<double>(star->instructions.size()));
      star_over += star->instructions.size() > 64;
      if (auto ether_star = ours(sig, response, MatchMode::Exact, LinkType::Ethernet)) {
        ether_star_sizes.push_back(static_cast<double>(ether_star->instructions.size()));
        ether_star_over += ether_star->instructions.size() > 64;
      }
    }
    for (bool v6 : {false, true}) {
      if ((parsed.version == IpVersion::V4 && v6) || (parsed.version == IpVersion::V6 && !v6)) continue;
      std::string one = parsed.version == IpVersion::Any ? testing::signature_for_version(sig, v6) : sig;
      auto exact = ours(one, response, MatchMode::Exact);
      auto loose = ours(one, response, MatchMode::Loose);
      auto expression = bench::bpftools_expression(*parse_signature(one), v6);
      auto peer = expression ? bench::libpcap_compile(*expression, v6) : std::nullopt;
      auto ether = ours(one, response, MatchMode::Exact, LinkType::Ethernet);
      auto sll = ours(one, response, MatchMode::Exact, LinkType::LinuxCooked);
      if (!exact || !loose || !peer || !ether || !sll) continue;
      ++variants;
      ether_sizes.push_back(static_cast<double>(ether->instructions.size()));
      ether_over += ether->instructions.size() > 64;
      sll_sizes.push_back(static_cast<double>(sll->instructions.size()));
      sll_over += sll->instructions.size() > 64;
      double e = static_cast<double>(exact->instructions.size());
      double l = static_cast<double>(loose->instructions.size());
      double p = static_cast<double>(peer->instructions.size());
      exact_sizes.push_back(e);
      loose_sizes.push_back(l);
      peer_sizes.push_back(p);
      exact_ratio.push_back(e / p);
      loose_ratio.push_back(l / p);
      variant_over += e > 64;
      peer_over += p > 64;
      loose_larger += l > p;
      // Matching and near-miss packets of this variant; bpftools' programs
      // read packets with link type IPv4/IPv6, the IP header first, as ours.
      Signature s = *parse_signature(one);
      for (int i = 0; i < 24; ++i) {
        testing::PacketSpec packet = testing::matching_packet(s, v6, response, rng);
        if (i % 3 != 0) packet = testing::mutate(packet, rng);
        if (packet.ipv6 != v6) continue;
        auto bytes = testing::build_packet(packet);
        exact_steps.push_back(static_cast<double>(executed(*exact, bytes)));
        ether_untagged_steps.push_back(static_cast<double>(executed(*ether, testing::ethernet_frame(bytes, v6))));
        ether_tagged_steps.push_back(static_cast<double>(executed(*ether, testing::ethernet_frame(bytes, v6, true))));
        loose_steps.push_back(static_cast<double>(executed(*loose, bytes)));
        peer_steps.push_back(static_cast<double>(executed(*peer, bytes)));
        if (star) {
          star_steps.push_back(static_cast<double>(executed(*star, bytes)));
          star_peer_steps.push_back(peer_steps.back());
        }
      }
    }
  }

  // Compile latency: the whole process (spawned directly, no shell), best
  // of 20, for a sample.
  std::vector<double> latency;
  posix_spawn_file_actions_t quiet;
  posix_spawn_file_actions_init(&quiet);
  posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
  for (std::size_t i = 0; i < sigs.size(); i += 8) {
    double best = 1e9;
    // As users run it: an iptables rule, so within 64 instructions.
    std::vector<std::string> args = {P0FBPF_BINARY};
    if (sigs[i].second) args.push_back("--response");
    args.push_back(sigs[i].first);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (int r = 0; r < 20; ++r) {
      auto start = std::chrono::steady_clock::now();
      pid_t pid;
      int status = 0;
      if (posix_spawn(&pid, argv[0], &quiet, nullptr, argv.data(), environ) != 0 || waitpid(pid, &status, 0) < 0 ||
          status != 0) {
        return 2;
      }
      best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    latency.push_back(best);
  }
  posix_spawn_file_actions_destroy(&quiet);

  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0 : s / static_cast<double>(v.size());
  };
  fmt::print("{} TCP signatures of p0f.fp; {} IPv4/IPv6 variants (* taken once as 4: and once as 6:)\n\n",
             sigs.size(), variants);
  fmt::print("{:<52} {:>8} {:>8} {:>8}  {}\n", "program size (instructions)", "min", "median", "max", "over 64");
  auto row = [&](const char* name, std::vector<double> v, std::size_t over) {
    std::sort(v.begin(), v.end());
    fmt::print("{:<52} {:>8.0f} {:>8.0f} {:>8.0f}  {}\n", name, v.front(), median(v), v.back(), over);
  };
  row("bpftools (libpcap -O), per variant", peer_sizes, peer_over);
  row("p0fbpf exact, per variant", exact_sizes, variant_over);
  const std::string star_row = fmt::format("p0fbpf exact, {} * signatures, one program each", star_sizes.size());
  row(star_row.c_str(), star_sizes, star_over);
  row("p0fbpf --loose, per variant", loose_sizes, 0);
  row("p0fbpf exact --link ether, per variant", ether_sizes, ether_over);
  const std::string ether_star_row =
      fmt::format("p0fbpf exact --link ether, {} * signatures, one program", ether_star_sizes.size());
  row(ether_star_row.c_str(), ether_star_sizes, ether_star_over);
  row("p0fbpf exact --link sll, per variant", sll_sizes, sll_over);
  fmt::print("\n{:<52} {:>8}  {}\n", "ratio to bpftools, per variant", "median", "target");
  fmt::print("{:<52} {:>8.2f}  <= 0.9\n", "exact size", median(exact_ratio));
  fmt::print("{:<52} {:>8.2f}  <= 0.6, never larger (larger: {})\n", "--loose size", median(loose_ratio), loose_larger);
  fmt::print("\n{:<52} {:>8}  {}\n", "instructions executed per packet", "mean", "ratio (target <= 0.8)");
  fmt::print("{:<52} {:>8.1f}\n", "bpftools", mean(peer_steps));
  fmt::print("{:<52} {:>8.1f}  {:.2f}\n", "p0fbpf exact", mean(exact_steps), mean(exact_steps) / mean(peer_steps));
  fmt::print("{:<52} {:>8.1f}  {:.2f}\n", "p0fbpf --loose", mean(loose_steps), mean(loose_steps) / mean(peer_steps));
  fmt::print("({} packets: matching and near misses of each variant)\n", peer_steps.size());
  fmt::print("{:<52} {:>8.1f}  {:.2f}\n", "p0fbpf exact, * as one program (their packets)", mean(star_steps),
             mean(star_steps) / mean(star_peer_steps));
  fmt::print("({} packets of * signatures; bpftools' programs for their IP version: {:.1f})\n", star_steps.size(),
             mean(star_peer_steps));
  fmt::print("{:<52} {:>8.1f}  +{:.1f} over raw (target <= +4)\n", "p0fbpf exact --link ether, untagged frames",
             mean(ether_untagged_steps), mean(ether_untagged_steps) - mean(exact_steps));
  fmt::print("{:<52} {:>8.1f}  +{:.1f} over raw\n", "p0fbpf exact --link ether, 802.1Q-tagged frames",
             mean(ether_tagged_steps), mean(ether_tagged_steps) - mean(exact_steps));
  design_card_rows(rng);
  if (auto size = label_program_size("Linux:3.11 and newer")) {
    fmt::print("\n{:<52} {:>8}  {}\n", "several signatures in one program, both versions", *size, "target <= 64");
    fmt::print("(p0fbpf -F /etc/p0f/p0f.fp --label 'Linux:3.11 and newer' --max-insns 64: both signatures of the "
               "label)\n");
  }
  fmt::print("\ncompile latency, whole p0fbpf process, best of 20: median {:.2f} ms, max {:.2f} ms (target < 5 ms; "
             "{} signatures)\n",
             median(latency), *std::max_element(latency.begin(), latency.end()), latency.size());
  return 0;
}
