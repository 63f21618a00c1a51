#include <unistd.h>

#include <csignal>
#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/kernel_limits.hpp"
#include "p0fbpf/xdp.hpp"

namespace p0fbpf::cli {
namespace {

volatile std::sig_atomic_t stop_watching = 0;

void on_stop(int) { stop_watching = 1; }

std::string stats_text(const std::string& device, const xdp::Stats& stats, bool json) {
  std::string out;
  auto to = std::back_inserter(out);
  if (json) {
    fmt::format_to(to,
                   "{{\"device\": {}, \"program_id\": {}, \"mode\": \"{}\", \"action\": \"{}\", \"seen\": {}, "
                   "\"signatures\": [",
                   json_string(device), stats.program_id, xdp::mode_name(stats.mode),
                   stats.count_only ? "count-only" : "drop", stats.seen);
    for (std::size_t i = 0; i < stats.matches.size(); ++i) {
      fmt::format_to(to, "{}\n  {{\"matches\": {}, \"signature\": {}}}", i ? "," : "", stats.matches[i].packets,
                     json_string(stats.matches[i].name));
    }
    out += stats.matches.empty() ? "]}\n" : "\n]}\n";
    return out;
  }
  std::uint64_t matched = 0;
  for (const auto& m : stats.matches) matched += m.packets;
  fmt::format_to(to, "{}: p0fbpf's XDP program {}, {} mode, {} matches\n", printable(device), stats.program_id,
                 xdp::mode_name(stats.mode), stats.count_only ? "counts (and passes)" : "drops");
  fmt::format_to(to, "{:>12}  packets seen\n{:>12}  matched\n\n{:>12}  signature\n", stats.seen, matched, "matches");
  for (const auto& m : stats.matches) fmt::format_to(to, "{:>12}  {}\n", m.packets, printable(m.name));
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
      "the kernel builds a socket buffer. The program and its maps are pinned under BPFFS/p0fbpf/DEVICE/.\n"
      "Attaching again replaces p0fbpf's program in one step, with no moment without a filter; another\n"
      "program on the device is left alone (an error). Needs no compiler.");
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
      "stats", "Print the counters of p0fbpf's program on DEVICE: packets seen, and matches per signature\n"
               "(found through the device, from any process).");
  stats_app->add_option("device", device, "the network device")->required()->type_name("DEVICE");
  stats_app->add_flag("--json", json, "print JSON for scripts");
  stats_app->add_option("--watch", watch, "print the counters again every SECONDS (default 1) until interrupted; "
                                          "on a terminal the screen is redrawn")
      ->type_name("SECONDS")
      ->expected(0, 1)
      ->default_str("1")
      ->check(CLI::Range(0.1, 3600.0));

  detach_app = app.add_subcommand(
      "detach", "Detach p0fbpf's program from DEVICE (never another program) and remove its pins.\n"
                "Nothing attached is not an error.");
  detach_app->add_option("device", device, "the network device")->required()->type_name("DEVICE");
  detach_app->add_option("--bpffs", bpffs, "the BPF file system of the pins (default /sys/fs/bpf)")
      ->type_name("DIR");
}

int XdpCommand::run() const {
  if (detach_app->parsed()) {
    xdp::DetachResult result = xdp::detach(device, bpffs);
    if (!result.error.empty()) {
      fmt::print(stderr, "p0fbpf: error: {}\n", printable(result.error));
      return kExitError;
    }
    if (result.program_id) {
      fmt::print(stderr, "p0fbpf: detached p0fbpf's XDP program {} from {}\n", result.program_id, printable(device));
    } else {
      fmt::print(stderr, "p0fbpf: {} has no XDP program: nothing to detach\n", printable(device));
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
        fmt::print(stderr, "p0fbpf: error: {}\n", printable(error));
        return kExitError;
      }
      std::string text = stats_text(device, *stats, json);
      if (terminal) text = "\x1b[H\x1b[2J" + text;
      else if (!first && !json) text = "\n" + text;
      if (!write_stdout(text)) return kExitError;
    }
    return kExitOk;
  }

  std::string error;
  std::optional<LinkType> link = xdp::device_link(device, error);
  if (!link) {
    fmt::print(stderr, "p0fbpf: error: {}\n", printable(error));
    return kExitError;
  }
  CompileOptions options = flags.options();
  options.link = {*link, 0};
  options.verdict_per_signature = !flags.negate;
  refuse_over_kernel_limit(options, KernelProgram::Xdp);
  std::optional<Selection> selection = read_selection(flags.signatures, database, options.direction);
  if (!selection) return kExitError;
  std::optional<BpfProgram> program = compile_checked(selection->sources, options);
  if (!program) return kExitError;
  xdp::AttachRequest request{device, verdict_names(*selection, flags.negate), count_only, *parse_mode(mode), bpffs};
  xdp::AttachResult result = xdp::attach(request, *program);
  if (!result.error.empty()) {
    fmt::print(stderr, "p0fbpf: error: {}\n", printable(result.error));
    return kExitError;
  }
  if (result.mounted_bpffs) fmt::print(stderr, "p0fbpf: mounted a BPF file system at {}\n", printable(bpffs));
  std::string replaced = result.replaced_id ? fmt::format(", replacing program {}", result.replaced_id) : "";
  fmt::print(stderr, "p0fbpf: attached XDP program {} to {} ({} frames) in {} mode{}, {} {}; pinned in {}\n",
             result.program_id, printable(device), *link == LinkType::Ethernet ? "Ethernet" : "IP",
             xdp::mode_name(result.mode), replaced, count_only ? "counting the matches of" : "dropping",
             selection->sources.size() == 1 ? "1 signature" : fmt::format("{} signatures", selection->sources.size()),
             printable(result.pin_directory));
  return kExitOk;
}

}  // namespace p0fbpf::cli
