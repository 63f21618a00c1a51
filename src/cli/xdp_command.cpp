#include <unistd.h>

#include <csignal>
#include <ctime>
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "prometheus.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/kernel_limits.hpp"
#include "p0fbpf/xdp.hpp"

namespace p0fbpf::cli {
namespace {

// What the attached program's classic part returns for a frame that is not
// a TCP SYN: no signature's slot (there are fewer than 2^32 - 1), not the
// accept value of --negate.
constexpr std::uint32_t kNotSynVerdict = 0xffffffff;

volatile std::sig_atomic_t stop_watching = 0;

void on_stop(int) { stop_watching = 1; }

std::string since(std::uint64_t attached_unix) {
  auto now = static_cast<std::uint64_t>(std::time(nullptr));
  std::uint64_t s = now > attached_unix ? now - attached_unix : 0;
  if (s < 120) return fmt::format("{} s", s);
  if (s < 7200) return fmt::format("{} min", s / 60);
  if (s < 172800) return fmt::format("{} h {} min", s / 3600, s / 60 % 60);
  return fmt::format("{} days {} h", s / 86400, s / 3600 % 24);
}

std::string stats_text(const std::string& device, const xdp::Stats& stats, bool json) {
  std::string out;
  auto to = std::back_inserter(out);
  auto now = static_cast<std::uint64_t>(std::time(nullptr));
  if (json) {
    fmt::format_to(to,
                   "{{\"device\": {}, \"program_id\": {}, \"mode\": \"{}\", \"action\": \"{}\", \"seen\": {}, "
                   "\"syns\": {}, \"attached_unix\": {}, \"seconds_since_attach\": {}, \"signatures\": [",
                   json_string(device), stats.program_id, xdp::mode_name(stats.mode),
                   stats.count_only ? "count-only" : "drop", stats.seen,
                   stats.syns ? std::to_string(*stats.syns) : "null",
                   stats.attached_unix ? std::to_string(stats.attached_unix) : "null",
                   stats.attached_unix ? std::to_string(now > stats.attached_unix ? now - stats.attached_unix : 0)
                                       : "null");
    for (std::size_t i = 0; i < stats.matches.size(); ++i) {
      fmt::format_to(to, "{}\n  {{\"matches\": {}, \"signature\": {}}}", i ? "," : "", stats.matches[i].packets,
                     json_string(stats.matches[i].name));
    }
    out += stats.matches.empty() ? "]}\n" : "\n]}\n";
    return out;
  }
  std::uint64_t matched = 0;
  for (const auto& m : stats.matches) matched += m.packets;
  fmt::format_to(to, "{}: p0fbpf's XDP program {}, {} mode, {} matches{}\n", printable(device), stats.program_id,
                 xdp::mode_name(stats.mode), stats.count_only ? "counts (and passes)" : "drops",
                 stats.attached_unix ? fmt::format("; counting since {} ago", since(stats.attached_unix)) : "");
  fmt::format_to(to, "{:>12}  packets seen\n", stats.seen);
  if (stats.syns) fmt::format_to(to, "{:>12}  TCP SYNs seen\n", *stats.syns);
  fmt::format_to(to, "{:>12}  matched\n\n{:>12}  signature\n", matched, "matches");
  for (const auto& m : stats.matches) fmt::format_to(to, "{:>12}  {}\n", m.packets, printable(m.name));
  return out;
}

std::string list_text(const std::vector<xdp::PinDirectory>& dirs, bool json) {
  std::string out;
  auto to = std::back_inserter(out);
  if (json) {
    out += "[";
    for (std::size_t i = 0; i < dirs.size(); ++i) {
      const auto& d = dirs[i];
      fmt::format_to(to,
                     "{}\n  {{\"path\": {}, \"state\": \"{}\", \"device\": {}, \"netns\": {}, \"ifindex\": {}, "
                     "\"program_id\": {}, \"attached_unix\": {}, \"why\": {}}}",
                     i ? "," : "", json_string(d.path), xdp::state_name(d.state), json_string(d.device), d.netns,
                     d.ifindex, d.program_id, d.attached_unix, json_string(d.why));
    }
    out += dirs.empty() ? "]\n" : "\n]\n";
    return out;
  }
  for (const auto& d : dirs) {
    if (d.state == xdp::PinDirectory::State::Foreign) {
      fmt::format_to(to, "{:<16} {}  ({})\n", "foreign", printable(d.path), printable(d.why));
      continue;
    }
    fmt::format_to(to, "{:<16} {}  device {} (index {}, network namespace {}), program {}{}\n",
                   xdp::state_name(d.state), printable(d.path), d.device.empty() ? "?" : printable(d.device),
                   d.ifindex, d.netns, d.program_id, d.why.empty() ? "" : "; " + printable(d.why));
  }
  return out;
}

std::optional<xdp::Mode> parse_mode(const std::string& name) {
  if (name == "auto") return xdp::Mode::Auto;
  if (name == "native") return xdp::Mode::Native;
  if (name == "generic") return xdp::Mode::Generic;
  return std::nullopt;
}

}  // namespace

void XdpCommand::add_to(CLI::App& app) {
  app.require_subcommand(1, 1);
  attach_app = app.add_subcommand(
      "attach",
      "Compile the signatures (as for compiling, also -F and --label) for DEVICE's link layer, load the\n"
      "program with its counters and attach it to DEVICE's XDP hook: matching packets are dropped before\n"
      "the kernel builds a socket buffer. The program and its maps are pinned under\n"
      "BPFFS/p0fbpf/NETNS_IFINDEX/ (the device's network namespace inode and index). Attaching again\n"
      "replaces p0fbpf's program in one step, with no moment without a filter, and keeps the counts of the\n"
      "signatures it keeps; the same selection again changes nothing. Another program on the device is\n"
      "left alone (an error). Needs no compiler.");
  attach_app->add_option("device", device, "the network device")->required()->type_name("DEVICE");
  flags.add_to(*attach_app, "drop the packets the signatures do not match");
  database.add_to(*attach_app);
  attach_app->add_option("--mode", mode,
                         "native (in the driver), generic (any device, slower), or auto: native where the driver "
                         "has it, else generic (default; says which on stderr)")
      ->type_name("MODE")
      ->check(CLI::IsMember({"auto", "native", "generic"}));
  attach_app->add_flag("--count-only", count_only, "count the matches, drop nothing (shadow mode)");
  attach_app->add_option("--bpffs", bpffs, "the BPF file system the pins go in (default /sys/fs/bpf)")
      ->type_name("DIR");

  stats_app = app.add_subcommand(
      "stats", "Print the counters of p0fbpf's program on DEVICE: packets seen, TCP SYNs seen, matches per\n"
               "signature, and how long it has counted (found through the device, from any process).");
  stats_app->add_option("device", device, "the network device")->required()->type_name("DEVICE");
  CLI::Option* json_option = stats_app->add_flag("--json", json, "print JSON for scripts");
  stats_app->add_flag("--prometheus", prometheus,
                      "print Prometheus' text exposition format (p0fbpf_xdp_packets_total, "
                      "p0fbpf_xdp_matches_total{device,label,signature}, ...), e.g. for node_exporter's "
                      "textfile collector")
      ->excludes(json_option);
  stats_app->add_option("--watch", watch, "print the counters again every SECONDS (default 1) until interrupted; "
                                          "on a terminal the screen is redrawn")
      ->type_name("SECONDS")
      ->expected(0, 1)
      ->default_str("1")
      ->check(CLI::Range(0.1, 3600.0));

  detach_app = app.add_subcommand(
      "detach", "Detach p0fbpf's program from DEVICE (never another program) and remove its pins, wherever\n"
                "its attach put them. Nothing attached is not an error. For a device that is gone, removes\n"
                "the stale pins of a device of that name.");
  detach_app->add_option("device", device, "the network device")->required()->type_name("DEVICE");
  detach_app->add_option("--bpffs", bpffs,
                         "the BPF file system to look in when the program does not say (default /sys/fs/bpf)")
      ->type_name("DIR");

  list_app = app.add_subcommand(
      "list", "List p0fbpf's pin directories under BPFFS/p0fbpf: attached (its program is on its device),\n"
              "stale (on no device: prune removes it), other-namespace (look from there), or foreign.");
  list_app->add_option("--bpffs", bpffs, "the BPF file system (default /sys/fs/bpf)")->type_name("DIR");
  list_app->add_flag("--json", json, "print JSON for scripts");

  prune_app = app.add_subcommand(
      "prune", "Remove the stale pin directories that list shows (never anything else).");
  prune_app->add_option("--bpffs", bpffs, "the BPF file system (default /sys/fs/bpf)")->type_name("DIR");
}

int XdpCommand::run() const {
  if (list_app->parsed()) {
    std::string error;
    std::optional<std::vector<xdp::PinDirectory>> dirs = xdp::list(bpffs, error);
    if (!dirs) {
      print_error(error);
      return kExitError;
    }
    return write_stdout(list_text(*dirs, json)) ? kExitOk : kExitError;
  }

  if (prune_app->parsed()) {
    std::unique_ptr<SystemLock> lock = take_system_lock();
    if (!lock) return kExitError;
    xdp::PruneResult result = xdp::prune(bpffs);
    for (const auto& dir : result.removed) fmt::print(stderr, "p0fbpf: removed stale pins {}\n", printable(dir));
    if (!result.error.empty()) {
      print_error(result.error);
      return kExitError;
    }
    if (result.removed.empty()) fmt::print(stderr, "p0fbpf: no stale pins in {}\n", printable(bpffs));
    return kExitOk;
  }

  if (detach_app->parsed()) {
    std::unique_ptr<SystemLock> lock = take_system_lock();
    if (!lock) return kExitError;
    xdp::DetachResult result = xdp::detach(device, bpffs);
    for (const auto& dir : result.removed) fmt::print(stderr, "p0fbpf: removed pins {}\n", printable(dir));
    if (!result.error.empty()) {
      print_error(result.error);
      return kExitError;
    }
    if (!result.pins_left.empty()) {
      fmt::print(stderr,
                 "p0fbpf: warning: the program's pins in {} are out of this process's sight (ip netns exec mounts a "
                 "/sys of its own); they stay until `p0fbpf xdp prune` runs where they are visible\n",
                 printable(result.pins_left));
    }
    if (result.program_id) {
      fmt::print(stderr, "p0fbpf: detached p0fbpf's XDP program {} from {}\n", result.program_id, printable(device));
    } else if (result.removed.empty()) {
      fmt::print(stderr, "p0fbpf: {} has no XDP program: nothing to detach\n", printable(device));
    } else {
      fmt::print(stderr, "p0fbpf: {} has no XDP program; removed its stale pins\n", printable(device));
    }
    return kExitOk;
  }

  if (stats_app->parsed()) {
    bool watching = stats_app->count("--watch") > 0;
    double interval = watch.value_or(1.0);
    bool terminal = watching && isatty(STDOUT_FILENO);
    if (watching) {
      std::signal(SIGINT, on_stop);
      std::signal(SIGTERM, on_stop);
    }
    for (bool first = true; first || (watching && !stop_watching); first = false) {
      if (!first) usleep(static_cast<useconds_t>(interval * 1e6));
      if (stop_watching) break;
      std::string error;
      std::optional<xdp::Stats> stats = xdp::stats(device, error);
      if (!stats) {
        print_error(error);
        return kExitError;
      }
      std::string text = prometheus ? prometheus_text(device, *stats) : stats_text(device, *stats, json);
      if (terminal) text = "\x1b[H\x1b[2J" + text;
      else if (!first && !json && !prometheus) text = "\n" + text;
      if (!write_stdout(text)) return kExitError;
    }
    return kExitOk;
  }

  std::string error;
  std::optional<LinkType> link = xdp::device_link(device, error);
  if (!link) {
    print_error(error);
    return kExitError;
  }
  CompileOptions options = flags.options();
  options.link = {*link, 0};
  options.verdict_per_signature = !flags.negate;
  // Every frame that is not a TCP SYN of the direction passes, on L3
  // devices too, whatever the options; it returns a verdict no signature
  // has, so that the program counts the SYNs it sees apart from the frames.
  options.syn_gate = true;
  options.not_syn_verdict = kNotSynVerdict;
  options.comments = false;  // for listings only: the kernel needs the instructions
  options.keep_ir = false;
  refuse_over_kernel_limit(options, KernelProgram::Xdp);
  std::optional<Selection> selection = read_selection(flags.signatures, database, options.direction);
  if (!selection) return kExitError;
  std::optional<BpfProgram> program = compile_checked(selection->sources, options);
  if (!program) return kExitError;
  release_compiler_memory();  // before the translation to eBPF and the load
  xdp::AttachRequest request{device, verdict_names(*selection, flags.negate), count_only, *parse_mode(mode), bpffs,
                             kNotSynVerdict};
  std::unique_ptr<SystemLock> lock = take_system_lock();
  if (!lock) return kExitError;
  xdp::AttachResult result = xdp::attach(request, *program);
  if (!result.error.empty()) {
    print_error(result.error);
    return kExitError;
  }
  if (result.mounted_bpffs) fmt::print(stderr, "p0fbpf: mounted a BPF file system at {}\n", printable(bpffs));
  if (result.unchanged) {
    fmt::print(stderr, "p0fbpf: {} already runs this selection (XDP program {}, {} mode): nothing changed\n",
               printable(device), result.program_id, xdp::mode_name(result.mode));
    return kExitOk;
  }
  if (!result.note.empty()) fmt::print(stderr, "p0fbpf: {}\n", printable_lines(result.note));
  std::string replaced =
      result.replaced_id ? fmt::format(", replacing program {} (counts kept for {} of its signatures)",
                                       result.replaced_id, result.kept_counters)
                         : "";
  fmt::print(stderr, "p0fbpf: attached XDP program {} to {} ({} frames) in {} mode{}, {} {}; pinned in {}\n",
             result.program_id, printable(device), *link == LinkType::Ethernet ? "Ethernet" : "IP",
             xdp::mode_name(result.mode), replaced, count_only ? "counting the matches of" : "dropping",
             selection->sources.size() == 1 ? "1 signature" : fmt::format("{} signatures", selection->sources.size()),
             printable(result.pin_directory));
  return kExitOk;
}

}  // namespace p0fbpf::cli
