// Programs of many signatures: a label of p0f.fp, or the whole [tcp:request]
// database, as one program. For each label name of the database's request
// section (all its labels of that name, as --label NAME selects them) and
// for the whole section:
//   - signatures, program size (exact, within 4,096 instructions: tc, pins,
//     XDP);
//   - mean classic instructions executed per packet (the final ret counted)
//     by p0fbpf exact, p0fbpf --loose and the peer: bpftools' expressions of
//     the signatures OR-ed into one tcpdump expression that libpcap compiles
//     for raw IP packets (each alternative checks the data offset before it
//     reads an option, bpftools.hpp's offset_first);
//   - the peer's wrong answers: packets where the OR-ed program's verdict is
//     not that of its alternatives compiled alone (a read past the end in one
//     alternative ends the whole program).
// Then the growth of the miss cost: the first 1, 16, 32, 64 and 91
// signatures of the section, over the packets that none of them matches.
//
// The packet mix, reproducible from --seed: for every signature of the
// section and each IP version it allows, packets that match it and near
// misses (one field changed); SYNs of scanners that match nothing of p0f.fp
// (zmap-, masscan- and nmap -sS-like: no options or only an MSS, TTL 255 or
// 64, small windows); random SYNs.
//
// --profile NAME (a label name, "whole", or "first:N" for the section's
// first N signatures) prints instead that selection's
// exact program as tcpdump -d lists it, each instruction after the number
// of times it ran per packet of the mix, as perf annotate shows where a
// program's time goes. --profile-of loose profiles the --loose program;
// --profile-of misses the exact program over the packets that the whole
// section does not match; --profile-of peer the peer's OR-ed program.
//
//   build/bench/label_bench [-F p0f.fp] [--seed N] [--profile NAME [--profile-of exact|loose|misses|peer]]
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "bpftools.hpp"
#include "classic_steps.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"
#include "p0fbpf/emit.hpp"
#include "p0fbpf/parser.hpp"
#include "packet_builder.hpp"
#include "signature_packets.hpp"

namespace {

using namespace p0fbpf;
using bench::executed;

constexpr std::size_t kFitWithin = 4096;  // a packet socket's limit (tc sends 2000: kTcMaxInstructions)

[[noreturn]] void fail(const std::string& why) {
  fmt::print(stderr, "label_bench: {}\n", why);
  std::exit(2);
}

struct Group {
  std::string name;
  std::vector<SignatureSource> signatures;
};

std::string name_of(const std::string& label) {
  // type:class:name:flavor
  std::size_t first = label.find(':');
  std::size_t second = label.find(':', first + 1);
  std::size_t third = label.find(':', second + 1);
  return label.substr(second + 1, third - second - 1);
}

BpfProgram ours(const std::vector<SignatureSource>& signatures, MatchMode mode, LinkType link, bool thread = true) {
  CompileOptions options;
  options.mode = mode;
  options.link.type = link;
  options.thread_jumps = thread;
  options.fit_within = kFitWithin;
  Compilation c = compile(signatures, options);
  if (!c.ok()) fail("a selection does not compile");
  return *c.program;
}

// The peer for the signatures: one OR-ed expression, and each alternative
// alone (for its wrong answers).
struct Peer {
  BpfProgram program;
  std::vector<BpfProgram> alone;
  std::size_t refused = 0;  // alternatives bpftools has no expression for
};

// `datalink`: DLT_RAW or DLT_EN10MB.
Peer peer(const std::vector<SignatureSource>& signatures, int datalink) {
  Peer out;
  std::string joined;
  for (const SignatureSource& s : signatures) {
    Signature parsed = *parse_signature(s.text);
    for (bool v6 : {false, true}) {
      if ((parsed.version == IpVersion::V4 && v6) || (parsed.version == IpVersion::V6 && !v6)) continue;
      std::string one = parsed.version == IpVersion::Any ? testing::signature_for_version(s.text, v6) : s.text;
      auto expression = bench::bpftools_expression(*parse_signature(one), v6, true);
      if (!expression) {
        ++out.refused;
        continue;
      }
      auto alone = bench::libpcap_compile(*expression, v6, datalink);
      if (!alone) fail("libpcap refuses " + *expression);
      out.alone.push_back(std::move(*alone));
      joined += (joined.empty() ? "(" : " or (") + *expression + ")";
    }
  }
  if (joined.empty()) joined = "ip and not ip";  // nothing: a program that matches nothing
  auto program = bench::libpcap_compile(joined, false, datalink);
  if (!program) fail("libpcap refuses the OR-ed expression");
  out.program = std::move(*program);
  return out;
}

bool accepts(const BpfProgram& program, const std::vector<std::uint8_t>& packet) {
  auto size = static_cast<unsigned>(packet.size());
  return bpf_filter(program.instructions.data(), packet.data(), size, size) != 0;
}

testing::PacketSpec scanner(testing::Random& rng, int kind, bool ipv6) {
  auto pick = [&](unsigned lo, unsigned hi) { return std::uniform_int_distribution<unsigned>(lo, hi)(rng); };
  testing::PacketSpec p;
  p.ipv6 = ipv6;
  p.seq = pick(1, 0xffffffffu);
  p.source_port = static_cast<std::uint16_t>(pick(1024, 65535));
  switch (kind) {
    case 0:  // zmap: no options, TTL 255, window 65535, IP ID 54321
      p.ttl = static_cast<std::uint8_t>(255 - pick(0, 20));
      p.fragment = 0;
      p.ip_id = 54321;
      p.window = 65535;
      break;
    case 1:  // masscan: no options, TTL 255, window 1024
      p.ttl = static_cast<std::uint8_t>(255 - pick(0, 20));
      p.fragment = 0;
      p.ip_id = static_cast<std::uint16_t>(pick(1, 65535));
      p.window = 1024;
      break;
    default:  // nmap -sS: an MSS of 1460 alone, window 1024 to 4096
      p.ttl = static_cast<std::uint8_t>(64 - pick(0, 20));
      p.fragment = 0;
      p.ip_id = static_cast<std::uint16_t>(pick(1, 65535));
      p.window = static_cast<std::uint16_t>(1024u << pick(0, 2));
      p.tcp_options = {2, 4, 0x05, 0xb4};
      break;
  }
  return p;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::string path = "/etc/p0f/p0f.fp";
  unsigned long seed = 1;
  std::optional<std::string> profile;
  std::string profile_of = "exact";
  std::string link_name = "raw";
  const char* usage =
      "usage: label_bench [-F p0f.fp] [--seed N] [--link raw|ether] [--profile NAME [--profile-of "
      "exact|loose|misses|peer]]";
  for (int i = 1; i < argc; i += 2) {
    std::string a = argv[i];
    if (i + 1 == argc) fail(usage);
    if (a == "-F") path = argv[i + 1];
    else if (a == "--seed") seed = std::stoul(argv[i + 1]);
    else if (a == "--profile") profile = argv[i + 1];
    else if (a == "--profile-of") profile_of = argv[i + 1];
    else if (a == "--link") link_name = argv[i + 1];
    else fail(usage);
  }
  if (profile_of != "exact" && profile_of != "loose" && profile_of != "misses" && profile_of != "peer") fail(usage);
  if (link_name != "raw" && link_name != "ether") fail(usage);
  const bool ether = link_name == "ether";
  const LinkType link = ether ? LinkType::Ethernet : LinkType::Raw;
  const int datalink = ether ? DLT_EN10MB : DLT_RAW;
  std::ifstream in(path);
  if (!in) fail(path + " cannot be read (apt-get install p0f)");
  std::stringstream text;
  text << in.rdbuf();
  DatabaseResult read = read_database(text.str(), path);
  if (!read.ok()) fail(path + " has errors");

  std::vector<Group> groups;
  Group all{"whole [tcp:request]", {}};
  for (const DatabaseLabel& label : read.database.labels) {
    if (label.direction != Direction::Request || label.signatures.empty()) continue;
    std::string name = name_of(label.text);
    auto at = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.name == name; });
    if (at == groups.end()) at = groups.insert(groups.end(), Group{name, {}});
    at->signatures.insert(at->signatures.end(), label.signatures.begin(), label.signatures.end());
    all.signatures.insert(all.signatures.end(), label.signatures.begin(), label.signatures.end());
  }
  if (all.signatures.empty()) fail(path + " has no [tcp:request] signature");

  // The mix.
  testing::Random rng(seed);
  std::vector<std::vector<std::uint8_t>> packets;
  std::size_t matching = 0, near = 0, scanners = 0, random = 0;
  for (const SignatureSource& s : all.signatures) {
    Signature parsed = *parse_signature(s.text);
    for (bool v6 : {false, true}) {
      if ((parsed.version == IpVersion::V4 && v6) || (parsed.version == IpVersion::V6 && !v6)) continue;
      for (int i = 0; i < 4; ++i) {
        testing::PacketSpec p = testing::matching_packet(parsed, v6, false, rng);
        if (i >= 2) p = testing::mutate(p, rng);
        packets.push_back(testing::build_packet(p));
        ++(i >= 2 ? near : matching);
      }
    }
  }
  for (int i = 0; i < 120; ++i) {
    packets.push_back(testing::build_packet(scanner(rng, i % 3, i % 8 == 7)));
    ++scanners;
  }
  for (int i = 0; i < 60; ++i) {
    packets.push_back(testing::build_packet(testing::random_packet(i % 2 == 1, false, rng)));
    ++random;
  }

  // Behind an Ethernet header (untagged: libpcap's peer expression would
  // need `vlan` for a tagged one), as tc and XDP see them.
  if (ether) {
    for (auto& packet : packets) packet = testing::ethernet_frame(packet, !packet.empty() && (packet[0] >> 4) == 6);
  }
  fmt::print("{} ({} request signatures), seed {}, --link {}: {} packets ({} matching a signature, {} near misses, {} scanner "
             "SYNs, {} random SYNs)\n\n",
             path, all.signatures.size(), seed, link_name, packets.size(), matching, near, scanners, random);
  if (profile) {
    const Group* chosen = &all;
    Group first{*profile, {}};
    if (profile->starts_with("first:")) {  // the section's first N signatures
      const std::string count = profile->substr(6);
      if (count.empty() || count.find_first_not_of("0123456789") != std::string::npos) fail(usage);
      std::size_t n = std::min<std::size_t>(std::stoul(count), all.signatures.size());
      first.signatures.assign(all.signatures.begin(), all.signatures.begin() + static_cast<long>(n));
      chosen = &first;
    } else if (*profile != "whole") {
      auto at = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.name == *profile; });
      if (at == groups.end()) fail("no label named " + *profile + " in the request section");
      chosen = &*at;
    }
    const Group& g = *chosen;
    if (profile_of == "misses") {
      BpfProgram whole = ours(all.signatures, MatchMode::Exact, link);
      std::erase_if(packets, [&](const std::vector<std::uint8_t>& packet) { return accepts(whole, packet); });
    }
    bool loose = profile_of == "loose";
    BpfProgram program = profile_of == "peer" ? peer(g.signatures, datalink).program
                                              : ours(g.signatures, loose ? MatchMode::Loose : MatchMode::Exact, link);
    std::vector<std::size_t> visits(program.instructions.size(), 0);
    double total = 0;
    for (const auto& packet : packets) total += static_cast<double>(executed(program, packet, &visits));
    const char* which = profile_of == "peer" ? "peer" : loose ? "--loose" : "exact";
    fmt::print("{}, {}: {} instructions, {:.1f} executed per packet{}; runs per packet, instruction\n", g.name,
               which, program.instructions.size(), total / static_cast<double>(packets.size()),
               profile_of == "misses" ? fmt::format(" of the {} the whole section does not match", packets.size())
                                      : "");
    std::istringstream listing(emit(program, Format::Assembly));
    std::size_t pc = 0;
    for (std::string line; std::getline(listing, line) && pc < visits.size(); ++pc) {
      fmt::print("{:>6.3f}  {}\n", static_cast<double>(visits[pc]) / static_cast<double>(packets.size()), line);
    }
    return 0;
  }
  fmt::print("{:<22} {:>4} {:>6} {:>6} {:>6} {:>6} | {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6}\n", "label", "sigs",
             "before", "exact", "loose", "peer", "before", "exact", "--loose", "peer", "ex/peer", "lo/peer", "peer");
  fmt::print("{:<22} {:>4} {:>27} | {:>35} {:>15} {:>6}\n", "", "", "program size", "executed per packet",
             "ratio", "wrong");
  groups.push_back(all);
  for (const Group& g : groups) {
    BpfProgram before = ours(g.signatures, MatchMode::Exact, link, false);
    BpfProgram exact = ours(g.signatures, MatchMode::Exact, link);
    BpfProgram loose = ours(g.signatures, MatchMode::Loose, link);
    Peer p = peer(g.signatures, datalink);
    std::vector<double> b, e, l, q;
    std::size_t wrong = 0;
    for (const auto& packet : packets) {
      if (accepts(before, packet) != accepts(exact, packet)) fail("threading changed a verdict of " + g.name);
      b.push_back(static_cast<double>(executed(before, packet)));
      e.push_back(static_cast<double>(executed(exact, packet)));
      l.push_back(static_cast<double>(executed(loose, packet)));
      q.push_back(static_cast<double>(executed(p.program, packet)));
      bool any = std::any_of(p.alone.begin(), p.alone.end(), [&](const BpfProgram& a) { return accepts(a, packet); });
      wrong += any != accepts(p.program, packet);
    }
    std::string name = g.name + (p.refused ? fmt::format(" ({}-)", p.refused) : "");
    fmt::print("{:<22} {:>4} {:>6} {:>6} {:>6} {:>6} | {:>8.1f} {:>8.1f} {:>8.1f} {:>8.1f} {:>7.2f} {:>7.2f} {:>6}\n",
               name, g.signatures.size(), before.instructions.size(), exact.instructions.size(),
               loose.instructions.size(), p.program.instructions.size(), mean(b), mean(e), mean(l), mean(q),
               mean(e) / mean(q), mean(l) / mean(q), wrong);
  }
  fmt::print("before: p0fbpf exact without jump threading (CompileOptions::thread_jumps false).\n");
  fmt::print("(N-): N alternatives bpftools has no expression for are left out of the peer.\n");

  // Growth: the first N signatures, over the packets none of the section's
  // signatures matches.
  BpfProgram whole = ours(all.signatures, MatchMode::Exact, link);
  std::vector<const std::vector<std::uint8_t>*> misses;
  for (const auto& packet : packets) {
    if (!accepts(whole, packet)) misses.push_back(&packet);
  }
  fmt::print("\nmiss cost: executed per packet over the {} packets the section does not match\n", misses.size());
  fmt::print("{:>10} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "signatures", "size", "before", "exact", "peer", "ratio");
  std::optional<double> at16;
  for (std::size_t n : {1, 16, 32, 64, 91}) {
    n = std::min(n, all.signatures.size());
    std::vector<SignatureSource> first(all.signatures.begin(), all.signatures.begin() + static_cast<long>(n));
    BpfProgram before = ours(first, MatchMode::Exact, link, false);
    BpfProgram exact = ours(first, MatchMode::Exact, link);
    Peer p = peer(first, datalink);
    std::vector<double> b, e, q;
    for (const auto* packet : misses) {
      b.push_back(static_cast<double>(executed(before, *packet)));
      e.push_back(static_cast<double>(executed(exact, *packet)));
      q.push_back(static_cast<double>(executed(p.program, *packet)));
    }
    if (n == 16) at16 = mean(e);
    fmt::print("{:>10} {:>8} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.2f}{}\n", n, exact.instructions.size(), mean(b), mean(e),
               mean(q),
               mean(e) / mean(q), at16 && n > 16 ? fmt::format("   {:.2f}x the miss with 16", mean(e) / *at16) : "");
  }
  fmt::print("\ntargets (issue 22, exact): whole section <= 45 executed, Linux <= 30, every label <= 0.9x the peer, "
             "a miss with 91 <= 2x a miss with 16, --loose <= exact\n");
  return 0;
}
