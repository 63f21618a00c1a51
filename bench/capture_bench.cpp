// Capture speed, against the peers measured in the same run:
//   p0fbpf fingerprint  vs  p0f -r            (target: 20 times faster)
//   p0fbpf fingerprint  vs  reading the file  (target: within 2 times)
//   p0fbpf test         vs  tcpdump -r -w     (target: at least as fast)
// on captures of 100,000 SYNs, each its own flow, and on captures given
// with --capture (real ones: the ratios that matter). `test` checks the
// design-card signature on the synthetic captures and, on a given one, the
// capture's most frequent signature (the rule its flood calls for), so that
// both the match and the miss path are timed.
//
//   build/bench/capture_bench [--packets N] [--runs N] [--capture FILE]...
//
// bench/real_captures.sh records real floods (hping3, nmap, masscan, zmap,
// and a mix with curl's connections) in network namespaces and runs this
// on them: bench/real_captures.sh --bench build.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <pcap/pcap.h>

#include "bpftools.hpp"
#include "flood.hpp"
#include "p0f_oracle.hpp"
#include "p0fbpf/parser.hpp"

namespace {

using namespace p0fbpf;
using namespace p0fbpf::testing;

constexpr const char* kSignature = bench::kDesignCard;

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Best wall time of `runs` runs of a shell command, in milliseconds.
double best_ms(const std::string& command, int runs) {
  double best = 1e18;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    int status = std::system(command.c_str());
    auto end = std::chrono::steady_clock::now();
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1)) {
      fmt::print(stderr, "failed: {}\n", command);
      std::exit(2);
    }
    best = std::min(best, std::chrono::duration<double, std::milli>(end - start).count());
  }
  return best;
}

// The flood (or the varied capture) of bench/flood.hpp as an Ethernet
// capture, 10,000 packets a second.
void write_capture(const std::string& path, std::size_t count, bool varied) {
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  std::vector<std::vector<std::uint8_t>> frames = bench::flood_frames(count, varied);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    pcap_pkthdr header{};
    header.ts.tv_sec = 1700000000 + static_cast<long>(i / 10000);
    header.ts.tv_usec = static_cast<long>(i % 10000) * 100;
    header.caplen = header.len = static_cast<bpf_u_int32>(frames[i].size());
    pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frames[i].data());
  }
  pcap_dump_close(dumper);
  pcap_close(dead);
}

// What a command prints on its standard output.
std::string output_of(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  pclose(pipe);
  return out;
}

std::size_t distinct_signatures(const std::string& binary, const std::string& capture) {
  std::string lines = output_of(binary + " fingerprint -r " + quote(capture));
  return static_cast<std::size_t>(std::count(lines.begin(), lines.end(), '\n'));
}

// The capture's most frequent signature, as `fingerprint --top 1` prints it
// (`COUNT  SIGNATURE  LABEL`), if there is one.
std::optional<std::string> top_signature(const std::string& binary, const std::string& capture) {
  std::istringstream line(output_of(binary + " fingerprint --top 1 -r " + quote(capture)));
  std::size_t count = 0;
  std::string signature;
  if (!(line >> count >> signature)) return std::nullopt;
  return signature;
}

struct CaptureCounts {
  std::size_t packets = 0, syns = 0;
  std::string link;
};

// Packets, SYNs without ACK (IPv4, and IPv6 without extension headers) and
// the link type of a capture, as libpcap reads it.
std::optional<CaptureCounts> capture_counts(const std::string& path) {
  char error[PCAP_ERRBUF_SIZE];
  pcap_t* in = pcap_open_offline(path.c_str(), error);
  if (!in) {
    fmt::print(stderr, "capture_bench: {}\n", error);
    return std::nullopt;
  }
  CaptureCounts counts;
  const char* name = pcap_datalink_val_to_name(pcap_datalink(in));
  counts.link = name ? name : std::to_string(pcap_datalink(in));
  bpf_program syn{};
  const char* syn_filter = "(tcp and (tcp[13] & 0x12) == 2) or (ip6 and ip6[6] == 6 and (ip6[53] & 0x12) == 2)";
  bool filter = pcap_compile(in, &syn, syn_filter, 1, PCAP_NETMASK_UNKNOWN) == 0;
  pcap_pkthdr* header;
  const u_char* data;
  while (pcap_next_ex(in, &header, &data) == 1) {
    ++counts.packets;
    if (filter && pcap_offline_filter(&syn, header, data)) ++counts.syns;
  }
  if (filter) pcap_freecode(&syn);
  pcap_close(in);
  return counts;
}

void measure(const std::string& binary, const std::string& capture, const std::optional<std::string>& p0f,
             bool tcpdump, const std::string& signature, const std::string& expression, int runs) {
  fmt::print("{:<58} {:>10}  {}\n", "command", "ms", "ratio");
  const std::string file = quote(capture);  // a directory given by hand may have spaces
  double floor = best_ms(std::string(READ_FLOOR_BINARY) + " " + file + " > /dev/null", runs);
  double fingerprint = best_ms(binary + " fingerprint -r " + file + " > /dev/null", runs);
  fmt::print("{:<58} {:>10.1f}\n", "read_floor FILE (pcap_next_ex over every packet)", floor);
  if (p0f) {
    double peer = best_ms(*p0f + " -r " + file + " -f /etc/p0f/p0f.fp > /dev/null 2>&1", runs);
    fmt::print("{:<58} {:>10.1f}\n", "p0f -r FILE (raw_sig of every SYN)", peer);
    fmt::print("{:<58} {:>10.1f}  {:.1f}x faster than p0f (target 20x); {:.2f}x the floor (target <= 2)\n",
               "p0fbpf fingerprint -r FILE", fingerprint, peer / fingerprint, fingerprint / floor);
  } else {
    fmt::print("{:<58} {:>10.1f}  (p0f not installed); {:.2f}x the floor (target <= 2)\n",
               "p0fbpf fingerprint -r FILE", fingerprint, fingerprint / floor);
  }
  // test's count of matches goes to standard error.
  double test = best_ms(binary + " test -r " + file + " -w /dev/null " + quote(signature) + " > /dev/null 2>&1", runs);
  if (tcpdump) {
    double peer = best_ms("tcpdump -r " + file + " -w /dev/null " + quote(expression) + " 2> /dev/null", runs);
    fmt::print("{:<58} {:>10.1f}\n", "tcpdump -r FILE -w /dev/null EXPR (bpftools expression)", peer);
    fmt::print("{:<58} {:>10.1f}  {:.2f}x tcpdump's speed (target >= 1)\n", "p0fbpf test -r FILE -w /dev/null SIG",
               test, peer / test);
  } else {
    fmt::print("{:<58} {:>10.1f}  (tcpdump not installed: no ratio)\n", "p0fbpf test -r FILE -w /dev/null SIG", test);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t packets = 100000;
  int runs = 3;
  std::vector<std::string> given;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--packets") packets = std::stoul(argv[i + 1]);
    else if (flag == "--runs") runs = std::stoi(argv[i + 1]);
    else if (flag == "--capture") given.push_back(argv[i + 1]);
    else {
      fmt::print(stderr, "capture_bench: unknown option {}\n", flag);
      return 2;
    }
  }
  auto p0f = find_p0f();
  bool tcpdump = std::system("command -v tcpdump > /dev/null 2>&1") == 0;
  std::string dir = std::filesystem::temp_directory_path() / ("p0fbpf-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string binary = P0FBPF_BINARY;
  Result<Signature> sig = parse_signature(kSignature);
  std::string expression = *bench::bpftools_expression(*sig, false);
  for (bool varied : {false, true}) {
    std::string capture = dir + (varied ? "/varied.pcap" : "/flood.pcap");
    write_capture(capture, packets, varied);
    fmt::print("{}: {} SYNs on Ethernet, {:.1f} MB, {} distinct signatures; best of {} runs\n\n",
               varied ? "every SYN different (stress)" : "flood", packets,
               std::filesystem::file_size(capture) / 1e6, distinct_signatures(binary, capture), runs);
    measure(binary, capture, p0f, tcpdump, kSignature, expression, runs);
    fmt::print("\n");
  }
  fmt::print("signature: {}\nbpftools expression: {}\n\n", kSignature, expression);
  for (const std::string& capture : given) {
    auto counts = capture_counts(capture);
    if (!counts) return 2;
    // The flood's own signature when bpftools can express it (not `bad`,
    // no unknown option kinds); else the design card.
    std::string signature = kSignature, tested = expression;
    if (auto top = top_signature(binary, capture)) {
      Result<Signature> parsed = parse_signature(*top);
      std::optional<std::string> peer = parsed ? bench::bpftools_expression(*parsed, parsed->version == IpVersion::V6)
                                               : std::nullopt;
      if (peer) {
        signature = *top;
        tested = *peer;
      }
    }
    fmt::print("{}: {} packets on {}, {} SYNs, {:.1f} MB, {} distinct signatures; best of {} runs\n", capture,
               counts->packets, counts->link, counts->syns, std::filesystem::file_size(capture) / 1e6,
               distinct_signatures(binary, capture), runs);
    fmt::print("test's signature: {}\nbpftools expression: {}\n\n", signature, tested);
    measure(binary, capture, p0f, tcpdump, signature, tested, runs);
    fmt::print("\n");
  }
  if (!std::getenv("P0FBPF_BENCH_KEEP")) std::filesystem::remove_all(dir);
  else fmt::print("kept {}\n", dir);
  return 0;
}
