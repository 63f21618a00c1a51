// Per-packet cost in the receiving kernel of native nftables rules against
// xt_bpf (issue 23), measured in one run. The flood's SYNs (bench/flood.hpp)
// are sent from a packet socket in namespace a through a veth to namespace
// b, whose stack receives each frame in the sending thread (the veth hands
// it to the backlog, which runs when the send returns). So the wall time of
// sending a batch is the sender's cost plus the receiving stack's, and the
// difference to the same batch with no rule in b is what the rules cost.
// Each rule only counts (no verdict), so every frame takes the same path
// after it. In b, at prerouting, each right after a batch with no rule:
//   - none: no rule;
//   - nft: `p0fbpf -f nft --count-only --hook prerouting SELECTION`;
//   - bytecode: `iptables -t raw -A PREROUTING -p tcp --syn -m bpf
//     --bytecode` with each program of `p0fbpf --split SELECTION` (where the
//     selection fits in 64 instructions a program);
//   - pinned: `p0fbpf pin` and one `-m bpf --object-pinned` rule.
// For one signature (the design card; its rules 20 times in a row in each
// configuration, the cost divided by 20, since one copy costs about as much
// as the noise between two batches), a label and the whole [tcp:request]
// section of p0f.fp; configurations are measured in turn, round after
// round, and the median over the rounds of (time with the rules - time of
// the batch before, with none) is printed. Target: nft within 1.5x of
// xt_bpf's cost for one signature.
//
//   build/bench/nft_bench [--frames N] [--rounds N] [-F p0f.fp] [--binary P0FBPF]
//   build/bench/nft_bench --counts [-F p0f.fp] [--binary P0FBPF]
//
// --binary: another p0fbpf's rules and programs (an older build, to compare).
// --counts: no timing; for each label name of the request section (all its
// labels of that name), the nft rules and their matches, and the
// --bytecode rules (programs of --split) that hold it.
//
// Needs root, nft, iptables and a BPF file system at /sys/fs/bpf (not
// --counts).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "flood.hpp"
#include "netns.hpp"
#include "test_env.hpp"

namespace {

using p0fbpf::testing::run_shell;

std::string binary = P0FBPF_BINARY;

struct Selection {
  std::string name;
  std::vector<std::string> args;  // what selects it on p0fbpf's command line
  // Each configuration's rules this many times in a row, each copy doing
  // what the first did, and the cost divided by it: one signature's rules
  // cost about as much as the noise between two batches.
  std::size_t copies = 1;
};

// A command in b through nsenter, which (unlike `ip netns exec`) keeps the
// host's /sys, and with it the pins under /sys/fs/bpf.
std::string in_b(const std::string& b, const std::string& command, int* status = nullptr) {
  return run_shell("nsenter --net=/run/netns/" + b + " sh -c '" + command + "'", status);
}

std::string quoted_args(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) out += " \"" + a + "\"";
  return out;
}

struct Config {
  std::string name;
  std::string install;  // shell commands run in b; empty: no rule
  std::string remove;
  std::size_t rules = 0;
  std::size_t expressions = 0;  // nft: matches in all rules
  bool fits = true;
};

// The file p0fbpf writes, and the counts of its rules and their matches.
Config nft_config(const Selection& s, const std::string& path) {
  Config c{"nft prerouting", "", "nft delete table inet p0fbpf"};
  int status = 0;
  run_shell(binary + " -f nft --count-only --hook prerouting" + quoted_args(s.args) + " > " + path, &status);
  if (status != 0) {
    c.fits = false;
    return c;
  }
  std::ifstream in(path);
  std::string copied, chain;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("  chain ")) chain = line;
    bool rule = line.starts_with("    ") && line.find("type filter") == std::string::npos;
    for (std::size_t k = 1; k < (rule && chain == "  chain prerouting {" ? s.copies : 1); ++k) copied += line + "\n";
    copied += line + "\n";
    // The counting rules, and the rules that check what a branch's rules
    // share before jumping to their chain.
    if (line.find("counter name") == std::string::npos && line.find(" jump sig") == std::string::npos) continue;
    ++c.rules;
    std::istringstream words(line);
    for (std::string w; words >> w;) c.expressions += w.starts_with("@nh,") || w == "meta" || w == "ip6";
  }
  std::ofstream(path) << copied;
  c.install = "nft -f " + path;
  return c;
}

Config bytecode_config(const Selection& s) {
  Config c{"xt_bpf --bytecode", "", "iptables -t raw -F PREROUTING"};
  int status = 0;
  std::string programs = run_shell(binary + " --split" + quoted_args(s.args) + " 2>/dev/null", &status);
  if (status != 0) {
    c.fits = false;
    return c;
  }
  std::istringstream lines(programs);
  for (std::string p; std::getline(lines, p);) {
    if (p.empty()) continue;
    for (std::size_t k = 0; k < s.copies; ++k) {
      c.install += "iptables -t raw -A PREROUTING -p tcp --syn -m bpf --bytecode \"" + p + "\" && ";
    }
    ++c.rules;
  }
  c.install += "true";
  return c;
}

Config pinned_config(const Selection& s, const std::string& pin) {
  Config c{"xt_bpf --object-pinned", "", "iptables -t raw -F PREROUTING; rm -f " + pin};
  int status = 0;
  run_shell(binary + " pin " + pin + quoted_args(s.args), &status);
  if (status != 0) {
    c.fits = false;
    return c;
  }
  run_shell("rm -f " + pin);
  c.install = binary + " pin " + pin + quoted_args(s.args);
  for (std::size_t k = 0; k < s.copies; ++k) {
    c.install += " && iptables -t raw -A PREROUTING -p tcp --syn -m bpf --object-pinned " + pin;
  }
  c.rules = 1;
  return c;
}

// The label names of the request section, in the order of their first
// label (type:class:name:flavor).
std::vector<std::string> request_label_names(const std::string& database) {
  std::ifstream in(database);
  std::vector<std::string> names;
  bool request = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("[")) request = line.starts_with("[tcp:request]");
    if (!request || !line.starts_with("label")) continue;
    std::string label = line.substr(line.find('=') + 1);
    label.erase(0, label.find_first_not_of(" \t"));
    std::size_t first = label.find(':'), second = label.find(':', first + 1), third = label.find(':', second + 1);
    if (third == std::string::npos) continue;
    std::string name = label.substr(second + 1, third - second - 1);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

// --label's pattern for the labels of one name (RE2, the name quoted).
std::string label_pattern(const std::string& name) {
  std::string out = "^[^:]*:[^:]*:";
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) out += '\\';
    out += ch;
  }
  return out + ":";
}

int print_counts(const std::string& database) {
  std::string dir = "/tmp/p0fbpf_nft_counts_" + std::to_string(getpid());
  run_shell("mkdir -p " + dir);
  fmt::print("{:<22} {:>10} {:>10} {:>18}\n", "label name", "nft rules", "matches", "--bytecode rules");
  std::vector<std::string> names = request_label_names(database);
  names.push_back("");  // the whole section
  for (const std::string& name : names) {
    Selection s{name.empty() ? "whole [tcp:request]" : name,
                {"-F", database, "--label", name.empty() ? "." : label_pattern(name)}};
    Config nft = nft_config(s, dir + "/counts.nft");
    Config bytecode = bytecode_config(s);
    fmt::print("{:<22} {:>10} {:>10} {:>18}\n", s.name, nft.fits ? std::to_string(nft.rules) : "refused",
               nft.fits ? std::to_string(nft.expressions) : "", bytecode.fits ? std::to_string(bytecode.rules) : "");
  }
  run_shell("rm -rf " + dir);
  return 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t frame_count = 20000, rounds = 5;
  std::string database = "/etc/p0f/p0f.fp";
  bool counts = false;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--counts") {
      counts = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) flag = "";
    if (flag == "--frames") frame_count = std::strtoul(argv[i + 1], nullptr, 10);
    else if (flag == "--rounds") rounds = std::strtoul(argv[i + 1], nullptr, 10);
    else if (flag == "-F") database = argv[i + 1];
    else if (flag == "--binary") binary = argv[i + 1];
    else {
      fmt::print(stderr, "usage: nft_bench [--frames N] [--rounds N] [--counts] [-F p0f.fp] [--binary P0FBPF]\n");
      return 2;
    }
  }
  if (counts) return print_counts(database);
  if (geteuid() != 0 || run_shell("for t in nft iptables nsenter; do command -v $t; done | wc -l") != "3\n") {
    fmt::print(stderr, "nft_bench: needs root, nft, iptables and nsenter\n");
    return 2;
  }
  p0fbpf::testing::Namespaces ns("p0fbpf-nftbench");
  std::string dir = "/tmp/p0fbpf_nft_bench_" + std::to_string(getpid());
  std::string pin = "/sys/fs/bpf/p0fbpf_nft_bench_" + std::to_string(getpid());
  run_shell("mkdir -p " + dir);

  // The flood, to vb's MAC: every frame reaches b's prerouting hook.
  std::vector<std::vector<std::uint8_t>> frames = p0fbpf::bench::flood_frames(frame_count, false);
  const std::array<std::uint8_t, 6> mac = ns.mac_b();
  for (auto& f : frames) std::copy(mac.begin(), mac.end(), f.begin());

  const std::vector<Selection> selections = {
      {"one signature", {p0fbpf::bench::kDesignCard}, 20},
      {"Linux (p0f.fp)", {"-F", database, "--label", "Linux"}},
      {"whole [tcp:request] (p0f.fp)", {"-F", database, "--label", "."}},
  };
  fmt::print("nft_bench: {} flood frames a batch, {} rounds, median ns per frame in the sending thread "
             "(sender and receiving stack)\n\n",
             frames.size(), rounds);
  fmt::print("{:<30} {:<24} {:>6} {:>7} {:>9} {:>9} {:>8}\n", "selection", "rules at prerouting", "rules",
             "matches", "ns/frame", "- none", "ratio");
  int exit_status = 0;
  for (std::size_t n = 0; n < selections.size(); ++n) {
    const Selection& s = selections[n];
    std::vector<Config> configs = {{"none", "true", "true"}, nft_config(s, fmt::format("{}/{}.nft", dir, n)),
                                   bytecode_config(s),
                                   pinned_config(s, pin)};
    // Each configuration's batch right after a batch with no rule, so that
    // its cost is a difference of two neighbouring times: the machine's
    // drift between rounds (hundreds of ns a frame) cancels.
    auto send = [&] {
      return p0fbpf::testing::in_namespace(ns.a(), [&] {
        auto start = std::chrono::steady_clock::now();
        std::string sent = p0fbpf::testing::inject(frames, "va");
        double elapsed = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
        return sent == std::to_string(frames.size()) ? fmt::format("{}", elapsed / frames.size()) : "x";
      });
    };
    std::map<std::string, std::vector<double>> times, costs;
    for (std::size_t r = 0; r < rounds; ++r) {
      for (const Config& c : configs) {
        if (!c.fits || c.name == "none") continue;
        std::string none = send();
        int status = 0;
        std::string said = in_b(ns.b(), c.install, &status);
        if (status != 0) {
          fmt::print(stderr, "{}: {}: {}\n", s.name, c.name, said);
          exit_status = 2;
          continue;
        }
        std::string with = send();
        in_b(ns.b(), c.remove);
        if (none == "x" || with == "x") continue;
        times["none"].push_back(std::stod(none));
        times[c.name].push_back(std::stod(with));
        costs[c.name].push_back((std::stod(with) - std::stod(none)) / s.copies);
      }
    }
    double bytecode = costs.count("xt_bpf --bytecode") ? median(costs["xt_bpf --bytecode"]) : 0;
    for (const Config& c : configs) {
      if (!c.fits) {
        fmt::print("{:<30} {:<24} {:>6}\n", s.name, c.name, "does not fit");
        continue;
      }
      double cost = c.name == "none" ? 0 : median(costs[c.name]);
      std::string ratio = c.name != "none" && bytecode > 0 ? fmt::format("{:.2f}", cost / bytecode) : "";
      fmt::print("{:<30} {:<24} {:>6} {:>7} {:>9.0f} {:>9.0f} {:>8}\n", s.name, c.name, c.rules,
                 c.expressions ? std::to_string(c.expressions) : "", median(times[c.name]), cost, ratio);
    }
    fmt::print("\n");
  }
  fmt::print("one signature: each configuration's rules {} times in a row, the cost divided by {}\n",
             selections[0].copies, selections[0].copies);
  fmt::print("ratio: the rules' cost (ns/frame less the batch before, with none) to xt_bpf --bytecode's; "
             "target for one signature: nft <= 1.5\n");
  run_shell("rm -rf " + dir + " " + pin);
  return exit_status;
}
