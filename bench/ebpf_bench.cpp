// Per-packet cost in the kernel, measured by the kernel itself
// (BPF_PROG_TEST_RUN with `repeat`), over a sample of the flood capture's
// Ethernet frames, side by side in one run, for the design card's signature,
// every [tcp:request] signature of p0f.fp's Linux labels, and the whole
// [tcp:request] section:
//   - the XDP program (the Ethernet program translated for XDP); the same
//     with every read through X, as before copy-per-tag; and for several
//     signatures the same with a verdict per signature, as -f xdp compiles
//     them;
//   - the socket-filter program (the raw-IP program translated with
//     LD_ABS/LD_IND loads: how the kernel runs a classic program);
//   - bpftools' classic program (libpcap's compilation of its tcpdump
//     expression), translated to a socket filter the same way;
//   - the `p0fbpf -f xdp` C file compiled with clang, if clang is present;
//   - the floors: an XDP program that returns XDP_PASS and a socket filter
//     that returns 0, the test run's own cost.
// Target: the XDP program costs <= 0.8x the socket filter of the same
// signatures.
//
//   build/bench/ebpf_bench [--packets N] [--repeat N] [--rounds N] [--capture FILE]
//
// Needs root (CAP_BPF, CAP_PERFMON); run by hand.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <pcap/pcap.h>

#include "backend/ebpf/loader.hpp"
#include "backend/ebpf/translate.hpp"
#include "bpftools.hpp"
#include "classic_steps.hpp"
#include "flood.hpp"
#include "p0f_database.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"
#include "p0fbpf/parser.hpp"

namespace {

using namespace p0fbpf;

constexpr const char* kDatabase = "/etc/p0f/p0f.fp";
constexpr std::size_t kFloodPackets = 100000;

struct Options {
  std::size_t packets = 400;
  std::uint32_t repeat = 5000;
  int rounds = 5;
  std::optional<std::string> capture;
};

[[noreturn]] void fail(const std::string& message) {
  fmt::print(stderr, "ebpf_bench: {}\n", message);
  std::exit(2);
}

// `count` frames spread evenly over all of them.
std::vector<std::vector<std::uint8_t>> evenly_spaced(const std::vector<std::vector<std::uint8_t>>& frames,
                                                     std::size_t count) {
  std::vector<std::vector<std::uint8_t>> out;
  count = std::min(count, frames.size());
  for (std::size_t i = 0; i < count; ++i) out.push_back(frames[i * frames.size() / count]);
  return out;
}

// An Ethernet capture's frames that the test run takes: at least an
// Ethernet header, at most a standard MTU's frame (the kernel refuses
// inputs longer than about a page).
std::vector<std::vector<std::uint8_t>> read_capture(const std::string& path) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pcap = pcap_open_offline(path.c_str(), error);
  if (!pcap) fail(fmt::format("cannot read {}: {}", path, error));
  if (pcap_datalink(pcap) != DLT_EN10MB) {
    pcap_close(pcap);
    fail(path + ": XDP programs see Ethernet frames; give an Ethernet capture");
  }
  std::vector<std::vector<std::uint8_t>> frames;
  pcap_pkthdr* header = nullptr;
  const u_char* data = nullptr;
  while (pcap_next_ex(pcap, &header, &data) == 1) {
    if (header->caplen >= 14 && header->caplen <= 1514) frames.emplace_back(data, data + header->caplen);
  }
  pcap_close(pcap);
  if (frames.empty()) fail(path + " holds no Ethernet frame of 14 to 1514 bytes");
  return frames;
}

struct Selection {
  std::string name;
  std::vector<SignatureSource> sources;
  std::vector<std::string> cli_arguments;  // what selects them on p0fbpf's command line
};

// The [tcp:request] signatures of the labels `pattern` selects, as --label
// does ("." selects them all).
Selection request_signatures(const std::string& pattern) {
  std::ifstream in(kDatabase);
  std::stringstream text;
  text << in.rdbuf();
  DatabaseResult read = read_database(text.str(), kDatabase);
  if (!in || !read.ok()) fail(fmt::format("cannot read {} (apt-get install p0f)", kDatabase));
  auto labels = select_labels(read.database, pattern, Direction::Request);
  if (!labels.ok() || labels->empty()) fail(fmt::format("no label matches {} in {}", pattern, kDatabase));
  Selection selection;
  for (const DatabaseLabel* label : *labels) {
    selection.sources.insert(selection.sources.end(), label->signatures.begin(), label->signatures.end());
  }
  selection.name = fmt::format("--label {} ({} request signatures)", pattern, selection.sources.size());
  selection.cli_arguments = {"-F", kDatabase, "--label", pattern};
  return selection;
}

// `per_signature`: returning the matching signature's number, as -f xdp
// compiles it for its counters. `copy_per_tag` false: behind Ethernet, the
// layout before copy-per-tag, every read through X.
BpfProgram compile_classic(const Selection& selection, LinkType link, bool per_signature = false,
                           bool copy_per_tag = true) {
  CompileOptions options;
  options.link.type = link;
  options.verdict_per_signature = per_signature;
  options.copy_per_tag = copy_per_tag;
  options.frame_once = false;  // as -f xdp and xdp attach compile
  Compilation c = compile(selection.sources, options);
  if (!c.ok()) fail("cannot compile " + selection.name);
  return *c.program;
}

// bpftools makes one expression per signature and IP version (a `*`
// signature twice); for several, the alternatives in one expression, which
// libpcap compiles for raw IP of both versions, each checking the data
// offset before it reads an option (bpftools_expression's offset_first).
// `refused` counts the signatures and versions bpftools has no expression
// for; `alone` gets each alternative's own program, as a rule of its own.
std::optional<BpfProgram> bpftools_program(const Selection& selection, std::size_t& refused,
                                           std::vector<BpfProgram>& alone) {
  struct Alternative {
    Signature signature;
    bool ipv6;
  };
  std::vector<Alternative> alternatives;
  refused = 0;
  for (const SignatureSource& source : selection.sources) {
    Signature sig = *parse_signature(source.text);
    for (bool v6 : {false, true}) {
      if ((sig.version == IpVersion::V4 && v6) || (sig.version == IpVersion::V6 && !v6)) continue;
      std::string one = sig.version == IpVersion::Any ? testing::signature_for_version(source.text, v6) : source.text;
      Signature version = *parse_signature(one);
      if (bench::bpftools_expression(version, v6)) {
        alternatives.push_back({version, v6});
      } else {
        ++refused;
      }
    }
  }
  if (alternatives.empty()) return std::nullopt;
  // One signature of one IP version: as bpftools compiles it.
  if (alternatives.size() == 1) {
    return bench::libpcap_compile(*bench::bpftools_expression(alternatives[0].signature, alternatives[0].ipv6),
                                  alternatives[0].ipv6);
  }
  std::string joined;
  for (const Alternative& a : alternatives) {
    joined += (joined.empty() ? "(" : " or (") + *bench::bpftools_expression(a.signature, a.ipv6, true) + ")";
    alone.push_back(*bench::libpcap_compile(*bench::bpftools_expression(a.signature, a.ipv6), false, DLT_RAW));
  }
  return bench::libpcap_compile(joined, false, DLT_RAW);
}

// `p0fbpf -f xdp` for the selection, compiled with clang as the C file's
// header says; nullopt without clang.
std::optional<std::string> xdp_c_object(const Selection& selection, const std::string& dir, const std::string& stem) {
  if (std::system("command -v clang > /dev/null 2>&1 && command -v gcc > /dev/null 2>&1") != 0) return std::nullopt;
  std::string arguments;
  for (const std::string& a : selection.cli_arguments) arguments += " '" + a + "'";
  std::string source = dir + "/" + stem + ".c", object = dir + "/" + stem + ".o";
  std::string command = fmt::format(
      "'{}' -f xdp{} > {} && clang -O2 -g -target bpf -I/usr/include/$(gcc -dumpmachine) -c {} -o {}",
      P0FBPF_BINARY, arguments, source, source, object);
  if (std::system(command.c_str()) != 0) fail("failed: " + command);
  return object;
}

// A program in the kernel and its timings, per frame the best of the rounds.
struct Measured {
  std::string name;
  ebpf::LoadedProgram program;
  std::optional<std::size_t> loaded_instructions;  // as translated here; the C file's are clang's
  std::optional<double> classic_steps;  // classic instructions executed per frame, mean
  std::vector<std::uint32_t> verdicts;
  std::vector<std::uint32_t> best_ns;

  double mean_ns() const {
    double sum = 0;
    for (std::uint32_t ns : best_ns) sum += ns;
    return best_ns.empty() ? 0 : sum / static_cast<double>(best_ns.size());
  }
};

Measured load_translated(const std::string& name, const ebpf::Program& program) {
  ebpf::LoadResult result = ebpf::load(program);
  if (!result.program) {
    std::string log = result.verifier_log.size() > 2000 ? result.verifier_log.substr(result.verifier_log.size() - 2000)
                                                        : result.verifier_log;
    fail(fmt::format("the kernel refused {}: {}\n{}", name, result.error, log));
  }
  return {name, std::move(*result.program), program.instructions.size(), std::nullopt, {}, {}};
}

// The classic program translated, with the instructions it executes on the
// frames (a socket filter's without their Ethernet header, as the kernel
// gives them).
Measured load_translated(const std::string& name, const BpfProgram& classic, ebpf::Target target,
                         const std::vector<std::vector<std::uint8_t>>& frames) {
  Measured m = load_translated(name, ebpf::translate(classic, target));
  std::size_t skip = target == ebpf::Target::SocketFilter ? 14 : 0;
  double sum = 0;
  for (const auto& frame : frames) {
    sum += static_cast<double>(bench::executed(classic, std::vector<std::uint8_t>(frame.begin() + skip, frame.end())));
  }
  m.classic_steps = sum / static_cast<double>(frames.size());
  return m;
}

// The least a program can do: return `verdict`.
ebpf::Program returning(ebpf::Target target, int verdict) {
  ebpf::Program program;
  program.target = target;
  ebpf::Instruction set_result;
  set_result.code = ebpf::isa::kAlu64 | ebpf::isa::kMov | BPF_K;
  set_result.imm = verdict;
  ebpf::Instruction exit;
  exit.code = BPF_JMP | ebpf::isa::kExit;
  program.instructions = {set_result, exit};
  return program;
}

constexpr std::size_t kEthernetHeader = 14;

struct Group {
  Selection selection;
  std::size_t xdp, socket_filter;  // indexes into the programs
  std::optional<std::size_t> xdp_indexed, xdp_per_signature, bpftools, xdp_c;
  std::size_t bpftools_refused = 0;
  std::vector<BpfProgram> bpftools_alone;  // each alternative of an OR-ed peer alone
};

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

std::string cell(std::optional<std::size_t> n) { return n ? std::to_string(*n) : "-"; }

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (i + 1 >= argc) fail(flag + " needs a value");
    if (flag == "--packets") options.packets = std::stoul(argv[i + 1]);
    else if (flag == "--repeat") options.repeat = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    else if (flag == "--rounds") options.rounds = std::stoi(argv[i + 1]);
    else if (flag == "--capture") options.capture = argv[i + 1];
    else fail("unknown option " + flag + " (--packets N, --repeat N, --rounds N, --capture FILE)");
  }
  if (options.packets == 0 || options.repeat == 0 || options.rounds <= 0) {
    fail("--packets, --repeat and --rounds take at least 1");
  }
  if (geteuid() != 0) {
    fail("loading and test-running eBPF programs needs root (CAP_BPF, CAP_PERFMON): run it with sudo");
  }

  std::vector<std::vector<std::uint8_t>> frames =
      evenly_spaced(options.capture ? read_capture(*options.capture) : bench::flood_frames(kFloodPackets, false),
                    options.packets);
  std::string dir = std::filesystem::temp_directory_path() / ("p0fbpf-ebpf-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);

  std::vector<Measured> programs;
  programs.push_back(
      load_translated("floor: XDP, returns XDP_PASS", returning(ebpf::Target::Xdp, ebpf::isa::kXdpPass)));
  programs.push_back(load_translated("floor: socket filter, returns 0", returning(ebpf::Target::SocketFilter, 0)));
  const std::size_t xdp_floor = 0, socket_filter_floor = 1;

  std::vector<Group> groups;
  Selection card{fmt::format("the design card {}", bench::kDesignCard), {{bench::kDesignCard, ""}},
                 {bench::kDesignCard}};
  for (const Selection& selection : {card, request_signatures("Linux"), request_signatures(".")}) {
    Group group{selection, 0, 0, std::nullopt, std::nullopt, std::nullopt, std::nullopt, 0, {}};
    group.xdp = programs.size();
    programs.push_back(load_translated("XDP (--link ether, translated)",
                                       compile_classic(selection, LinkType::Ethernet), ebpf::Target::Xdp, frames));
    group.xdp_indexed = programs.size();
    programs.push_back(load_translated("XDP, every read through X (before)",
                                       compile_classic(selection, LinkType::Ethernet, false, false), ebpf::Target::Xdp,
                                       frames));
    if (selection.sources.size() > 1) {
      group.xdp_per_signature = programs.size();
      programs.push_back(load_translated("XDP, a verdict per signature (as -f xdp)",
                                         compile_classic(selection, LinkType::Ethernet, true), ebpf::Target::Xdp,
                                         frames));
    }
    group.socket_filter = programs.size();
    programs.push_back(load_translated("socket filter (raw IP, LD_ABS/LD_IND)",
                                       compile_classic(selection, LinkType::Raw), ebpf::Target::SocketFilter, frames));
    if (auto peer = bpftools_program(selection, group.bpftools_refused, group.bpftools_alone)) {
      group.bpftools = programs.size();
      programs.push_back(load_translated("bpftools' classic program, as socket filter", *peer,
                                         ebpf::Target::SocketFilter, frames));
    }
    if (auto object = xdp_c_object(selection, dir, std::to_string(groups.size()))) {
      ebpf::LoadResult loaded = ebpf::load_object(*object, ebpf::Target::Xdp);
      if (!loaded.program) fail("libbpf could not load " + *object + ": " + loaded.error);
      group.xdp_c = programs.size();
      programs.push_back(
          {"`p0fbpf -f xdp` C file, clang -O2", std::move(*loaded.program), std::nullopt, std::nullopt, {}, {}});
    }
    groups.push_back(std::move(group));
  }
  if (!std::getenv("P0FBPF_BENCH_KEEP")) std::filesystem::remove_all(dir);

  // Rounds over every program and frame, interleaved, so that a change in
  // the machine's load reaches every program alike; per frame the best.
  std::string load_before = load_average();
  for (Measured& m : programs) m.best_ns.assign(frames.size(), UINT32_MAX);
  for (int round = 0; round < options.rounds; ++round) {
    for (Measured& m : programs) {
      m.verdicts.clear();
      for (std::size_t f = 0; f < frames.size(); ++f) {
        auto timing = m.program.time(frames[f], options.repeat);
        if (!timing) fail(fmt::format("the kernel refused to test-run {}: {}", m.name, std::strerror(errno)));
        m.best_ns[f] = std::min(m.best_ns[f], timing->mean_ns);
        m.verdicts.push_back(timing->verdict);
      }
    }
  }
  std::string load_after = load_average();

  // The forms of the same signatures must agree on every frame.
  for (const Group& group : groups) {
    for (std::size_t f = 0; f < frames.size(); ++f) {
      bool matched = programs[group.socket_filter].verdicts[f] != 0;
      bool dropped = programs[group.xdp].verdicts[f] == ebpf::isa::kXdpDrop;
      bool c_dropped = group.xdp_c ? programs[*group.xdp_c].verdicts[f] == ebpf::isa::kXdpDrop : matched;
      bool indexed_dropped = programs[*group.xdp_indexed].verdicts[f] == ebpf::isa::kXdpDrop;
      bool each_dropped = group.xdp_per_signature
                              ? programs[*group.xdp_per_signature].verdicts[f] == ebpf::isa::kXdpDrop
                              : matched;
      if (matched != dropped || matched != c_dropped || matched != each_dropped || matched != indexed_dropped) {
        fail(fmt::format("{}: the XDP, C and socket-filter programs disagree on frame {}", group.selection.name, f));
      }
    }
    // The OR-ed peer answers as its alternatives would, each a rule of its
    // own: none of them may end it for the others.
    if (!group.bpftools || group.bpftools_alone.empty()) continue;
    std::size_t differ = 0;
    for (std::size_t f = 0; f < frames.size(); ++f) {
      const std::vector<std::uint8_t>& frame = frames[f];
      // IPv4 or IPv6 right behind the Ethernet header, as the socket filter
      // gets it in the test run.
      if (frame.size() <= kEthernetHeader) continue;
      unsigned type = frame[12] << 8 | frame[13];
      if (type != 0x0800 && type != 0x86dd) continue;
      const auto* ip = frame.data() + kEthernetHeader;
      auto length = static_cast<unsigned>(frame.size() - kEthernetHeader);
      bool any = false;
      for (const BpfProgram& one : group.bpftools_alone) any = any || bpf_filter(one.instructions.data(), ip, length, length) != 0;
      differ += any != (programs[*group.bpftools].verdicts[f] != 0);
    }
    if (differ) {
      fail(fmt::format("{}: bpftools' OR-ed program differs from its alternatives on {} of {} frames",
                       group.selection.name, differ, frames.size()));
    }
  }

  fmt::print("{} Ethernet frames, evenly spaced over {}; each timed by the kernel over {} runs (BPF_PROG_TEST_RUN "
             "repeat), best of {} rounds per frame, mean over the frames\n",
             frames.size(), options.capture ? *options.capture : fmt::format("the flood ({} SYNs)", kFloodPackets),
             options.repeat, options.rounds);
  fmt::print("load average before {}, after {}\n\n", load_before, load_after);
  const std::string header = fmt::format("{:<46} {:>6} {:>6} {:>6} {:>8} {:>8} {:>7} {:>7}\n", "program", "eBPF",
                                         "kernel", "steps", "ns/pkt", "-floor", "ratio", "-floor");
  auto row = [&](const Measured& m, double floor, const Measured* reference) {
    double ns = m.mean_ns();
    std::string ratios;
    if (reference) {
      double ref = reference->mean_ns();
      double ref_floor = programs[socket_filter_floor].mean_ns();
      ratios = fmt::format(" {:>7.2f} {:>7.2f}", ns / ref, (ns - floor) / (ref - ref_floor));
    }
    std::string steps = m.classic_steps ? fmt::format("{:.1f}", *m.classic_steps) : "-";
    fmt::print("{:<46} {:>6} {:>6} {:>6} {:>8.1f} {:>8.1f}{}\n", m.name, cell(m.loaded_instructions),
               cell(m.program.kernel_instructions()), steps, ns, ns - floor, ratios);
  };
  fmt::print("{}", header);
  row(programs[xdp_floor], programs[xdp_floor].mean_ns(), nullptr);
  row(programs[socket_filter_floor], programs[socket_filter_floor].mean_ns(), nullptr);
  double xdp_floor_ns = programs[xdp_floor].mean_ns(), socket_filter_floor_ns = programs[socket_filter_floor].mean_ns();
  for (const Group& group : groups) {
    std::size_t matches = 0;
    for (std::uint32_t v : programs[group.socket_filter].verdicts) matches += v != 0;
    fmt::print("\n{}: {} of the {} frames match\n", group.selection.name, matches, frames.size());
    const Measured& reference = programs[group.socket_filter];
    row(programs[group.xdp], xdp_floor_ns, &reference);
    row(programs[*group.xdp_indexed], xdp_floor_ns, &reference);
    if (group.xdp_per_signature) row(programs[*group.xdp_per_signature], xdp_floor_ns, &reference);
    row(reference, socket_filter_floor_ns, &reference);
    if (group.bpftools) row(programs[*group.bpftools], socket_filter_floor_ns, &reference);
    if (group.bpftools_refused) {
      fmt::print("  (bpftools has no expression for {} of the signatures' IP versions: sack or ?N options)\n",
                 group.bpftools_refused);
    }
    if (group.xdp_c) row(programs[*group.xdp_c], xdp_floor_ns, &reference);
    else fmt::print("  (no clang: the C file is not measured)\n");
    double raw = programs[group.xdp].mean_ns() / reference.mean_ns();
    double net = (programs[group.xdp].mean_ns() - xdp_floor_ns) / (reference.mean_ns() - socket_filter_floor_ns);
    fmt::print("XDP / socket filter: {:.2f}, {:.2f} without the floors; target <= 0.8: {}\n", raw, net,
               raw <= 0.8 ? "met" : net <= 0.8 ? "met without the floors only" : "not met");
  }
  fmt::print("\neBPF: instructions as loaded (translated here; the C file's are clang's); kernel: after the "
             "verifier's rewrites; steps: classic instructions executed per frame, mean; ratio: to the socket "
             "filter of the same signatures; -floor: each program less its hook's floor. The kernel gives whole ns "
             "per run, which the mean of each program's frames understates by about 0.5 ns.\n");
  return 0;
}
