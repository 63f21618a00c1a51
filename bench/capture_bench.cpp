// Capture speed, against the peers measured in the same run:
//   p0fbpf fingerprint  vs  p0f -r            (target: 20 times faster)
//   p0fbpf fingerprint  vs  reading the file  (target: within 2 times)
//   p0fbpf test         vs  tcpdump -r -w     (target: at least as fast)
// on captures of 100,000 SYNs, each its own flow, and on captures given
// with --capture (real ones: the ratios that matter).
//
//   build/bench/capture_bench [--packets N] [--runs N] [--capture FILE]...
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
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

std::size_t distinct_signatures(const std::string& binary, const std::string& capture) {
  std::string command = binary + " fingerprint -r " + capture + " | wc -l";
  FILE* pipe = popen(command.c_str(), "r");
  std::size_t n = 0;
  if (pipe && std::fscanf(pipe, "%zu", &n) != 1) n = 0;
  if (pipe) pclose(pipe);
  return n;
}

void measure(const std::string& binary, const std::string& capture, const std::optional<std::string>& p0f,
             bool tcpdump, const std::string& expression, int runs) {
  fmt::print("{:<58} {:>10}  {}\n", "command", "ms", "ratio");
  double floor = best_ms(std::string(READ_FLOOR_BINARY) + " " + capture + " > /dev/null", runs);
  double fingerprint = best_ms(binary + " fingerprint -r " + capture + " > /dev/null", runs);
  fmt::print("{:<58} {:>10.1f}\n", "read_floor FILE (pcap_next_ex over every packet)", floor);
  if (p0f) {
    double peer = best_ms(*p0f + " -r " + capture + " -f /etc/p0f/p0f.fp > /dev/null 2>&1", runs);
    fmt::print("{:<58} {:>10.1f}\n", "p0f -r FILE (raw_sig of every SYN)", peer);
    fmt::print("{:<58} {:>10.1f}  {:.1f}x faster than p0f (target 20x); {:.2f}x the floor (target <= 2)\n",
               "p0fbpf fingerprint -r FILE", fingerprint, peer / fingerprint, fingerprint / floor);
  } else {
    fmt::print("{:<58} {:>10.1f}  (p0f not installed); {:.2f}x the floor (target <= 2)\n",
               "p0fbpf fingerprint -r FILE", fingerprint, fingerprint / floor);
  }
  double test = best_ms(binary + " test -r " + capture + " -w /dev/null " + quote(kSignature) + " > /dev/null", runs);
  if (tcpdump) {
    double peer = best_ms("tcpdump -r " + capture + " -w /dev/null " + quote(expression) + " 2> /dev/null", runs);
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
    measure(binary, capture, p0f, tcpdump, expression, runs);
    fmt::print("\n");
  }
  for (const std::string& capture : given) {
    fmt::print("{}: {:.1f} MB, {} distinct signatures; best of {} runs\n\n", capture,
               std::filesystem::file_size(capture) / 1e6, distinct_signatures(binary, capture), runs);
    measure(binary, capture, p0f, tcpdump, expression, runs);
    fmt::print("\n");
  }
  fmt::print("signature: {}\nbpftools expression: {}\n", kSignature, expression);
  if (!std::getenv("P0FBPF_BENCH_KEEP")) std::filesystem::remove_all(dir);
  else fmt::print("kept {}\n", dir);
  return 0;
}
