// Large selections in the kernel: the wall time and peak memory (wait4's
// ru_maxrss) of the real p0fbpf process for
//   - p0fbpf xdp attach DEV  (per-signature counters) on a veth device in a
//     network namespace of its own, with its own BPF file system;
//   - p0fbpf pin PATH  (the socket filter of iptables --object-pinned);
// over 100, 1,000 and 10,000 distinct generated signatures (selection
// bench's database, --label .). What is over the kernel's limit must be
// refused before loading, within 5 s (exit 2); everything else must load.
// Target for memory: at most 10 KB per signature (reported; the RSS of a
// run of 100 signatures is the floor it is measured from).
//
//   sudo build/bench/limits_bench [--sizes 100,1000,10000] [--binary PATH]
//
// Needs root (namespaces, XDP, bpffs); run by hand.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "generated_signatures.hpp"
#include "measured_run.hpp"

namespace {

constexpr double kRefuseWithinSeconds = 5;
constexpr double kTargetKilobytesPerSignature = 10;

std::string binary = P0FBPF_BINARY;

struct Run {
  double seconds = 0;
  double megabytes = 0;  // peak resident set
  int exit_status = -1;
  std::string last_error_line;
};

// Runs argv, keeping stderr's last "error:" line (or its last line).
Run run(const std::vector<std::string>& args) {
  MeasuredRun m = measured_run(args, "limits_bench");
  Run r{m.seconds, m.megabytes, m.exit_status, ""};
  std::istringstream err(m.errors);
  for (std::string line; std::getline(err, line);) {
    if (r.last_error_line.empty() || line.find("error:") != std::string::npos) r.last_error_line = line;
  }
  return r;
}

bool quiet(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// A network namespace with a veth pair and a BPF file system, removed when
// done.
struct Sandbox {
  std::string ns = fmt::format("p0fbpf-limits-{}", getpid());
  std::string bpffs = fmt::format("/tmp/p0fbpf-limits-bpffs-{}", getpid());
  bool ok = false;
  Sandbox() {
    ok = quiet("ip netns add " + ns) &&
         quiet("ip -n " + ns + " link add lb0 type veth peer name lb1") &&
         quiet("ip -n " + ns + " link set lb0 up") && quiet("ip -n " + ns + " link set lb1 up") &&
         quiet("mkdir -p " + bpffs) && mount("bpf", bpffs.c_str(), "bpf", 0, nullptr) == 0;
  }
  ~Sandbox() {
    umount2(bpffs.c_str(), MNT_DETACH);
    rmdir(bpffs.c_str());
    quiet("ip netns del " + ns);
  }
};

std::vector<std::size_t> parse_sizes(const std::string& text) {
  std::vector<std::size_t> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoul(item));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::size_t> sizes = {100, 1000, 10000};
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--sizes") sizes = parse_sizes(argv[i + 1]);
    if (std::string(argv[i]) == "--binary") binary = argv[i + 1];
  }
  if (geteuid() != 0) {
    fmt::print(stderr, "limits_bench: needs root (network namespaces, XDP, a BPF file system)\n");
    return 2;
  }
  Sandbox box;
  if (!box.ok) {
    fmt::print(stderr, "limits_bench: cannot set up namespace {} with a veth pair and a BPF file system\n", box.ns);
    return 2;
  }
  fmt::print("p0fbpf xdp attach / pin over generated distinct signatures ({})\n\n", binary);
  fmt::print("{:<12} {:>10} {:>9} {:>12} {:>10}   {}\n", "command", "signatures", "wall s", "peak RSS MB",
             "KB/sig", "outcome");
  bool failed = false;
  double floor[2] = {0, 0};
  for (std::size_t n : sizes) {
    GeneratedDatabaseFile db(n);
    for (int kind = 0; kind < 2; ++kind) {
      std::vector<std::string> args =
          kind == 0 ? std::vector<std::string>{"ip", "netns", "exec", box.ns, binary, "xdp", "attach", "lb0", "--bpffs",
                                               box.bpffs, "-F", db.path, "--label", "."}
                    : std::vector<std::string>{binary, "pin", box.bpffs + "/pinned", "-F", db.path, "--label", "."};
      Run r = run(args);
      if (floor[kind] == 0) floor[kind] = r.megabytes;
      double per_signature = (r.megabytes - floor[kind]) * 1024 / static_cast<double>(n);
      std::string outcome;
      if (r.exit_status == 0) {
        outcome = "loaded";
      } else if (r.exit_status == 2 && r.last_error_line.find("allowed for") != std::string::npos) {
        bool quick = r.seconds <= kRefuseWithinSeconds;
        outcome = fmt::format("refused{}: {}", quick ? "" : fmt::format(" (SLOW: over {:.0f} s)", kRefuseWithinSeconds),
                              r.last_error_line);
        failed = failed || !quick;
      } else {
        outcome = fmt::format("FAILED (exit {}): {}", r.exit_status, r.last_error_line);
        failed = true;
      }
      if (per_signature > kTargetKilobytesPerSignature) outcome += " [over 10 KB/sig]";
      fmt::print("{:<12} {:>10} {:>9.2f} {:>12.1f} {:>10.1f}   {}\n", kind == 0 ? "xdp attach" : "pin", n, r.seconds,
                 r.megabytes, per_signature, outcome);
      std::fflush(stdout);
    }
  }
  quiet("ip netns exec " + box.ns + " " + binary + " xdp detach lb0 --bpffs " + box.bpffs);
  unlink((box.bpffs + "/pinned").c_str());
  return failed ? 1 : 0;
}
