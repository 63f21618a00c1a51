#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/database.hpp"
#include "p0fbpf/emit.hpp"
#include "p0fbpf/nft.hpp"
#include "p0fbpf/script.hpp"
#include "p0fbpf/tc_script.hpp"
#include "p0fbpf/xdp_c.hpp"

namespace p0fbpf::cli {
namespace {

constexpr unsigned kBpfMaxInstructions = 4096;  // BPF_MAXINSNS

// Says so when the script's comment for `text` has '_' for characters a
// shell or iptables-restore would treat specially (see comment_text).
void warn_if_unsafe_comment(const std::string& text) {
  bool replaced = false;
  comment_text(text, &replaced);
  if (replaced) {
    fmt::print(stderr,
               "p0fbpf: warning: {} has characters that are not safe in a script comment; the comment has '_' "
               "in their place\n",
               p0fbpf::quoted(text));
  }
}

std::vector<std::size_t> every_member(const Selection& selection) {
  std::vector<std::size_t> all(selection.sources.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  return all;
}

// What the rule stands for, for the comment in a script.
std::string describe(const Selection& selection, const std::vector<std::size_t>& members) {
  std::vector<std::string> names;
  for (std::size_t m : members) {
    if (std::find(names.begin(), names.end(), selection.names[m]) == names.end()) names.push_back(selection.names[m]);
  }
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : "; ") + n;
  return out;
}

// One program for the whole selection, for each header a device can put in
// front of what cls_bpf sees.
int write_tc_script(const Selection& selection, const CompileOptions& options, TcScriptOptions tc_options,
                    unsigned max_instructions) {
  std::size_t limit = max_instructions ? max_instructions : kTcMaxInstructions;
  std::string programs[2];
  const LinkType links[2] = {LinkType::Ethernet, LinkType::Raw};
  for (int i = 0; i < 2; ++i) {
    CompileOptions per_link = options;
    per_link.link = {links[i], 0};
    per_link.fit_within = limit;
    per_link.refuse_over = limit;
    Compilation result = compile(selection.sources, per_link);
    // Warnings once, from the first.
    if (i == 0 || !result.ok()) {
      for (const auto& d : result.diagnostics) fmt::print(stderr, "{}", d.render());
    }
    if (!result.ok()) return kExitError;
    if (!is_valid(*result.program)) {
      fmt::print(stderr, "p0fbpf: internal error: libpcap's bpf_validate rejects a program\n");
      return kExitError;
    }
    programs[i] = emit(*result.program, Format::Iptables);
    programs[i].pop_back();
  }
  tc_options.description = describe(selection, every_member(selection));
  warn_if_unsafe_comment(tc_options.description);
  return write_stdout(tc_script(programs[0], programs[1], tc_options)) ? kExitOk : kExitError;
}

// The XDP program as C: one program for the selection, which returns the
// matching signature's number so that each has its counter.
int write_xdp_c(const Selection& selection, CompileOptions options, ebpf::XdpCOptions xdp) {
  options.verdict_per_signature = !options.negate;
  options.syn_gate = options.negate;  // XDP sees every frame, on L3 devices (--link raw) too
  options.frame_once = false;         // as xdp attach (refuse_over_kernel_limit): the verifier's cost
  std::optional<BpfProgram> program = compile_checked(selection.sources, options);
  if (!program) return kExitError;
  xdp.verdicts = verdict_names(selection, options.negate);
  return write_stdout(ebpf::print_xdp_c(*program, xdp)) ? kExitOk : kExitError;
}

// The script for the rules on standard output, or why there is none.
int write_firewall_script(const std::vector<FirewallRule>& rules, const ScriptOptions& script_options) {
  FirewallScript written = firewall_script(rules, script_options);
  if (written.error) {
    fmt::print(stderr, "p0fbpf: error: {}\n", *written.error);
    return kExitError;
  }
  if (rules.empty()) {
    fmt::print(stderr, "p0fbpf: error: no rule to install: none of the signatures can match a packet\n");
    return kExitError;
  }
  if (written.rules == 0) {
    fmt::print(stderr,
               "p0fbpf: error: no rule to install: the signatures have rules for IPv{} only, and {} names "
               "only the other version\n",
               rules.front().ip_version == 4 ? 4 : 6, script_options.ipset.empty() ? "-d" : "--ipset");
    return kExitError;
  }
  return write_stdout(written.text) ? kExitOk : kExitError;
}

// This program's own path, for a script that runs it again.
std::optional<std::string> executable_path() {
  std::string path(4096, '\0');
  ssize_t length = readlink("/proc/self/exe", path.data(), path.size());
  if (length <= 0 || static_cast<std::size_t>(length) >= path.size()) return std::nullopt;
  path.resize(static_cast<std::size_t>(length));
  return path;
}

// --pinned: the program p0fbpf pin makes of the whole selection, and one
// rule for each IP version the selection has signatures of.
int write_pinned_script(const Selection& selection, const CompileFlags& flags, const CompileOptions& options,
                        ScriptOptions script_options, std::string directory) {
  Compilation whole = compile(selection.sources, options);  // as p0fbpf pin compiles it
  if (!report(whole)) return kExitError;
  if (!is_valid(*whole.program)) {
    fmt::print(stderr, "p0fbpf: internal error: libpcap's bpf_validate rejects a program\n");
    return kExitError;
  }
  std::optional<std::string> self = executable_path();
  if (!self) {
    fmt::print(stderr, "p0fbpf: error: cannot find p0fbpf's own path (/proc/self/exe), which the script runs\n");
    return kExitError;
  }
  while (directory.size() > 1 && directory.back() == '/') directory.pop_back();
  PinnedProgram pinned{directory, pin_name(emit(*whole.program, Format::Iptables)), *self, {}, {}};
  if (flags.response) pinned.flags.push_back("--response");
  if (flags.loose) pinned.flags.push_back("--loose");
  if (!flags.optimize) pinned.flags.push_back("-O0");
  for (const SignatureSource& source : selection.sources) pinned.signatures.push_back(source.text);
  script_options.pinned = std::move(pinned);
  if (auto problem = check_script_options(script_options)) {
    fmt::print(stderr, "p0fbpf: error: {}\n", *problem);
    return kExitError;
  }
  std::string comment = describe(selection, every_member(selection));
  warn_if_unsafe_comment(comment);
  std::vector<FirewallRule> rules;
  for (int family : {4, 6}) {
    CompileOptions per_family = options;
    per_family.ip_version = family;
    Compilation compiled = compile(selection.sources, per_family);  // its diagnostics are the whole's
    if (compiled.ok() && compiled.can_match()) {
      rules.push_back({family, options.direction, "", comment});
    }
  }
  return write_firewall_script(rules, script_options);
}

// -f nft: the file for nft -f, or why there is none.
int write_nft(const Selection& selection, const CompileOptions& options, const NftOptions& nft) {
  NftRuleset ruleset = compile_nft(selection.sources, selection.names, options, nft);
  for (const auto& d : ruleset.diagnostics) fmt::print(stderr, "{}", d.render());
  if (!ruleset.ok) return kExitError;
  for (const std::string& name : selection.names) {
    bool replaced = false;
    nft_comment(name, &replaced);
    if (replaced) {
      fmt::print(stderr,
                 "p0fbpf: warning: {} has characters that nft comments cannot hold, or is longer than they "
                 "are; the comment has '_' in their place, or is cut short\n",
                 p0fbpf::quoted(name));
    }
  }
  if (ruleset.rules == 0 && !options.negate) {
    fmt::print(stderr, "p0fbpf: error: no rule to install: none of the signatures can match a packet{}\n",
               nft.destinations.empty() ? "" : " of the families -d names");
    return kExitError;
  }
  return write_stdout(ruleset.text) ? kExitOk : kExitError;
}

std::string pass_list() {
  std::string out;
  for (std::string_view name : pass_names()) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

// The --print-ir observer: the IR after the chosen passes, into `text`.
PassObserver ir_printer(std::optional<std::string_view> only, std::string& text) {
  return [only, &text](const PassReport& report) {
    if (only && *only != report.pass) return;
    fmt::format_to(std::back_inserter(text), ";; after {} ({}): {}\n{}", report.pass, report.scope,
                   report.changed ? "changed" : "no change", ir_text(report.program));
  };
}

}  // namespace

void CompileCommand::add_to(CLI::App& app) {
  flags.add_to(app,
               "accept the packets the signatures do not match; behind a link header (--link ether, sll, sll2), "
               "with --hook tc and with -f xdp only the TCP SYNs they do not match (every other packet is "
               "rejected, so that tc and XDP let it through); iptables rules let only SYNs reach the program");
  app.add_option("-f,--format", format,
                 "output format: iptables (one line for -m bpf --bytecode, default), "
                 "asm (tcpdump -d listing with comments), c (sock_filter array), "
                 "ddd (tcpdump -ddd), dot (control-flow graph for Graphviz), "
                 "script (bash script that installs iptables/ip6tables rules, or with --hook tc a tc filter, all or "
                 "nothing, and removes them with --delete), "
                 "xdp (C file for clang -O2 -target bpf: an XDP program that drops what the signatures match and "
                 "counts the matches of each in a per-CPU map; Ethernet frames unless --link raw), "
                 "nft (a file for nft -f: native nftables rules in one table, which loading replaces in one "
                 "transaction, a named counter per signature (nft list counters); --hook input or prerouting "
                 "(an inet table), or ingress --dev DEV (a netdev table))")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"iptables", "asm", "c", "ddd", "dot", "script", "xdp", "nft"}));
  app.add_option("-l,--link", link,
                 "what comes before the IP header: raw (nothing: iptables, ip6tables, and tc on L3 devices such as "
                 "tun or WireGuard; default), ether (Ethernet, with or without one 802.1Q tag: tc and packet "
                 "sockets on Ethernet devices), sll (Linux cooked capture), sll2 (Linux cooked capture v2, "
                 "tcpdump -i any since libpcap 1.10); -f xdp takes ether (default) and raw")
      ->type_name("LINK")
      ->check(CLI::IsMember({"raw", "ether", "sll", "sll2"}));
  app.add_option("--l3-offset", l3_offset, "with --link raw: the IP header starts N bytes in (bpftools -o)")
      ->type_name("N")
      ->check(CLI::Range(0u, 1500u));
  app.add_option("--max-insns", max_instructions,
                 "largest program allowed (default 64 for iptables and script with --link raw, xt_bpf's limit; "
                 "2000 with --hook tc, about what tc filter add ... bpf bytecode can send; 4096 otherwise, "
                 "the kernel's limit: behind a link header, for packet sockets); "
                 "the fastest program within it is printed")
      ->type_name("N")
      ->check(CLI::Range(1u, kBpfMaxInstructions));
  // A flag, so that it never takes the signature after it as its value.
  app.add_flag("--print-ir", print_ir,
                 "print the IR after every pass (or with =after-PASS, after that pass only) on standard output, "
                 "each with a header naming the pass and whether it changed the program, before the program; "
                 "passes: " + pass_list())
      ->type_name("[=after-PASS]");
  database.add_to(app);
  app.add_flag("--list", list, "list the database's labels (or those --label selects) with their signatures");
  app.add_flag("--split", split, "as many programs as needed, each within --max-insns, one per line or block");
  app.add_option("--name", name,
                 "xdp: names the XDP program (NAME), its match function (NAME_match) and its counters "
                 "(NAME_counters); a C identifier (default p0fbpf)")
      ->type_name("NAME");
  deploy.add_to(app);
}

int CompileCommand::run() const {
  const bool nft = format == "nft";
  if ((deploy.direction || deploy.priority) && !(format == "script" && deploy.hook == "tc")) {
    fmt::print(stderr, "p0fbpf: error: {} goes with -f script --hook tc: it places a tc filter\n",
               deploy.direction ? "--direction" : "--pref");
    return kExitError;
  }
  const bool nft_hook = deploy.hook == "input" || deploy.hook == "prerouting" || deploy.hook == "ingress";
  if (!nft && (nft_hook || deploy.table != "p0fbpf")) {
    fmt::print(stderr, "p0fbpf: error: --hook {} and --table go with -f nft\n", nft_hook ? deploy.hook : "input");
    return kExitError;
  }
  if (nft && !list) {
    const char* other = link ? "--link" : l3_offset ? "--l3-offset" : max_instructions ? "--max-insns"
                        : split ? "--split" : print_ir ? "--print-ir" : !deploy.ipset.empty() ? "--ipset"
                        : deploy.pinned ? "--pinned" : name != "p0fbpf" ? "--name" : nullptr;
    if (other) {
      fmt::print(stderr, "p0fbpf: error: -f nft takes no {}: nft rules read the IP header, have no instruction "
                         "limit and filter destinations with -d\n", other);
      return kExitError;
    }
    if (deploy.hook == "tc") {
      fmt::print(stderr,
                 "p0fbpf: error: -f nft takes --hook input, prerouting or ingress, not tc\n"
                 "  help: nft's own hook before the IP stack is --hook ingress --dev DEV; a tc filter is -f script "
                 "--hook tc --dev DEV\n");
      return kExitError;
    }
    if (deploy.count_only && (deploy.target || deploy.rate)) {
      fmt::print(stderr, "p0fbpf: error: --count-only rules have no verdict{}: give one of --count-only and {}\n",
                 deploy.target ? "" : " for --rate to limit", deploy.target ? "--target" : "--rate");
      return kExitError;
    }
    NftOptions nft_options;
    nft_options.table = deploy.table;
    nft_options.hook = deploy.hook == "prerouting" ? NftHook::Prerouting
                       : deploy.hook == "ingress"  ? NftHook::Ingress
                                            : NftHook::Input;
    nft_options.device = deploy.device;
    nft_options.chain = deploy.chain.value_or("");
    nft_options.target = deploy.target.value_or("drop");
    nft_options.count_only = deploy.count_only;
    nft_options.destinations = deploy.destinations;
    nft_options.generator = std::string("p0fbpf ") + P0FBPF_VERSION;
    if (deploy.rate) {
      nft_options.rate = parse_rate(*deploy.rate);
      if (!nft_options.rate) {
        fmt::print(stderr, "p0fbpf: error: --rate {}: expected N/s with N from 1 to {}, e.g. --rate 1000/s\n",
                   p0fbpf::quoted(*deploy.rate), kMaxRatePerSecond);
        return kExitError;
      }
    }
    if (auto problem = check_nft_options(nft_options)) {
      fmt::print(stderr, "p0fbpf: error: {}\n", *problem);
      return kExitError;
    }
    CompileOptions options = flags.options();
    if (check_only) return kExitOk;
    std::optional<Selection> selected = read_selection(flags.signatures, database, options.direction);
    if (!selected) return kExitError;
    return write_nft(*selected, options, nft_options);
  }
  bool script = format == "script";
  bool xdp = format == "xdp";
  Format chosen = script || xdp ? Format::Iptables : *parse_format(format);
  bool tc = script && deploy.hook == "tc";
  if (deploy.pinned) {
    const char* problem = !script ? "--pinned goes with -f script"
                          : tc    ? "--pinned goes with --hook iptables: a tc filter holds its program itself"
                          : split ? "--pinned takes no --split: one pinned program holds the whole selection"
                          : max_instructions
                              ? "--pinned takes no --max-insns: a pinned eBPF program has no 64-instruction limit"
                              : nullptr;
    if (problem) {
      fmt::print(stderr, "p0fbpf: error: {}\n", problem);
      return kExitError;
    }
  }
  CompileOptions options = flags.options();
  std::string link_name = link.value_or(xdp ? "ether" : "raw");
  options.link = {*parse_link_type(link_name), l3_offset.value_or(0)};
  if (l3_offset && options.link.type != LinkType::Raw) {
    fmt::print(stderr, "p0fbpf: error: --l3-offset goes with --link raw, not --link {}\n", link_name);
    return kExitError;
  }
  if (xdp) {
    const char* other = options.link.type != LinkType::Raw && options.link.type != LinkType::Ethernet ? "--link"
                        : split                                                                      ? "--split"
                        : max_instructions                                                           ? "--max-insns"
                        : print_ir                                                                   ? "--print-ir"
                        : deploy.hook != "iptables" || deploy.chain || deploy.target || deploy.rate ||
                                !deploy.destinations.empty() || !deploy.ipset.empty() || !deploy.device.empty()
                            ? "a script option"
                            : nullptr;
    if (other) {
      fmt::print(stderr,
                 "p0fbpf: error: -f xdp takes no {}: an XDP program sees Ethernet frames (or IP packets on an L3 "
                 "device, --link raw) and has no 64- or 4096-instruction limit\n",
                 other);
      return kExitError;
    }
    if (!ebpf::is_c_identifier(name)) {
      fmt::print(stderr, "p0fbpf: error: --name {}: expected a C identifier of at most 32 characters\n",
                 p0fbpf::quoted(name));
      return kExitError;
    }
  } else if (name != "p0fbpf") {
    fmt::print(stderr, "p0fbpf: error: --name goes with -f xdp\n");
    return kExitError;
  }
  if (script && (options.link.type != LinkType::Raw || l3_offset)) {
    fmt::print(stderr,
               "p0fbpf: error: -f script takes no --{}: iptables rules see the IP header first, and a tc script "
               "picks the program for the device's header when it runs\n",
               l3_offset ? "l3-offset" : "link");
    return kExitError;
  }
  if (script && !tc && max_instructions > kXtBpfMaxInstructions) {
    fmt::print(stderr,
               "p0fbpf: error: --max-insns {} is over the {} instructions iptables -m bpf takes "
               "(XT_BPF_MAX_NUM_INSTR)\n  help: -f script splits a selection into rules of at most {}\n",
               max_instructions, kXtBpfMaxInstructions, kXtBpfMaxInstructions);
    return kExitError;
  }
  const std::string generator = std::string("p0fbpf ") + P0FBPF_VERSION;
  if (!script && (deploy.chain || deploy.target || (deploy.count_only && !xdp) || deploy.rate ||
                  !deploy.destinations.empty() || !deploy.ipset.empty() || !deploy.device.empty())) {
    fmt::print(stderr,
               "p0fbpf: error: --chain, --target, --count-only, --rate, -d, --ipset and --dev go with -f script\n");
    return kExitError;
  }
  // A program for tc sees every packet: only SYNs get past its gate. It
  // may have as many instructions as cls_bpf takes.
  const bool tc_program = !script && deploy.hook == "tc";
  if (tc_program) options.syn_gate = true;
  std::optional<unsigned> rate_per_second;
  if (deploy.rate) {
    rate_per_second = parse_rate(*deploy.rate);
    if (!rate_per_second) {
      fmt::print(stderr, "p0fbpf: error: --rate {}: expected N/s with N from 1 to {}, e.g. --rate 1000/s\n",
                 p0fbpf::quoted(*deploy.rate), kMaxRatePerSecond);
      return kExitError;
    }
  }
  if (deploy.count_only && deploy.target) {
    fmt::print(stderr, "p0fbpf: error: --count-only rules have no target: give one of --count-only and --target\n");
    return kExitError;
  }
  ScriptOptions script_options{deploy.chain.value_or("INPUT"), deploy.target.value_or("DROP"), deploy.destinations,
                               deploy.ipset, deploy.count_only, generator, rate_per_second, std::nullopt};
  TcScriptOptions tc_options{deploy.device,
                             deploy.direction.value_or(DeployFlags::kTcDirection),
                             deploy.count_only ? "pass" : deploy.target.value_or("drop"),
                             deploy.priority.value_or(DeployFlags::kTcPriority),
                             "",
                             generator};
  if (tc) {
    const char* iptables_only = deploy.chain                 ? "--chain"
                                : !deploy.destinations.empty() ? "-d"
                                : !deploy.ipset.empty()        ? "--ipset"
                                : split                        ? "--split"
                                                               : nullptr;
    if (deploy.rate) {
      fmt::print(stderr,
                 "p0fbpf: error: --rate goes with --hook iptables\n"
                 "  help: tc limits rates with its police action, where the kernel has it (act_police): "
                 "--target 'police pkts_rate N pkts_burst N conform-exceed drop/pipe'\n");
      return kExitError;
    }
    if (iptables_only) {
      fmt::print(stderr, "p0fbpf: error: {} goes with --hook iptables; a tc filter holds one program for all\n",
                 iptables_only);
      return kExitError;
    }
    if (auto problem = check_tc_script_options(tc_options)) {
      fmt::print(stderr, "p0fbpf: error: {}\n", *problem);
      return kExitError;
    }
  } else if (script) {
    if (!deploy.device.empty()) {
      fmt::print(stderr, "p0fbpf: error: --dev goes with --hook tc\n");
      return kExitError;
    }
    if (auto problem = check_script_options(script_options)) {
      fmt::print(stderr, "p0fbpf: error: {}\n", *problem);
      return kExitError;
    }
  }
  std::optional<std::string_view> print_ir_only;  // a pass, or every pass
  // A flag's value when given bare is "true".
  if (print_ir && *print_ir != "true") {
    const auto& names = pass_names();
    std::string_view wanted = *print_ir;
    bool known = wanted.starts_with("after-") &&
                 std::find(names.begin(), names.end(), wanted.substr(6)) != names.end();
    if (!known) {
      fmt::print(stderr, "p0fbpf: error: --print-ir={}: no such pass\n  help: --print-ir=after-PASS, where PASS is one of {}\n",
                 printable(*print_ir), pass_list());
      return kExitError;
    }
    print_ir_only = wanted.substr(6);
  }
  if (print_ir && script) {
    fmt::print(stderr, "p0fbpf: error: --print-ir goes with the formats of programs, not with -f script\n");
    return kExitError;
  }
  std::string ir_text;
  if (print_ir) options.observe_passes = ir_printer(print_ir_only, ir_text);
  if ((split || script) && flags.negate) {
    fmt::print(stderr,
               "p0fbpf: error: --negate needs one program: the packets outside several programs are not "
               "the packets outside each\n");
    return kExitError;
  }

  if (list) {
    auto labels = database.select(std::nullopt);
    if (!labels) return kExitError;
    std::string text;
    for (const DatabaseLabel* l : labels->labels) {
      fmt::format_to(std::back_inserter(text), "{:>3} {:<14} {}\n", l->signatures.size(),
                     l->direction == Direction::Request ? "[tcp:request]" : "[tcp:response]", printable(l->text));
    }
    return write_stdout(text) ? kExitOk : kExitError;
  }
  if (check_only) return kExitOk;
  // The signatures: from the arguments and from the database.
  std::optional<Selection> selected = read_selection(flags.signatures, database, options.direction);
  if (!selected) return kExitError;
  const Selection& selection = *selected;

  if (tc) return write_tc_script(selection, options, tc_options, max_instructions);
  if (deploy.pinned) return write_pinned_script(selection, flags, options, script_options, *deploy.pinned);
  if (xdp) return write_xdp_c(selection, options, {name, deploy.count_only, {}});

  unsigned limit = max_instructions;
  // xt_bpf's limit for what xt_bpf can run: a program that reads the IP
  // header first, not one for tc or behind a link header.
  const bool for_xt_bpf = chosen == Format::Iptables && !tc_program && options.link.type == LinkType::Raw;
  if (limit == 0) limit = for_xt_bpf ? kXtBpfMaxInstructions : tc_program ? kTcMaxInstructions : kBpfMaxInstructions;

  // A script has rules per IP version. Other formats have one program for
  // both, or with --split, per version when a signature is too large for one.
  std::vector<std::optional<int>> families = {std::nullopt};
  std::optional<SplitCompilation> split_both;  // --split for both versions, kept for the loop below
  if (script) {
    families = {4, 6};
  } else if (split) {
    split_both = compile_split(selection.sources, options, limit);
    if (split_both->too_large) families = {4, 6};
  }
  std::vector<FirewallRule> rules;
  std::set<std::string> warned;  // comments already warned about
  std::size_t emitted = 0;       // programs in `text`
  std::string text;
  bool printed_diagnostics = false;
  for (const auto& family : families) {
    CompileOptions per_family = options;
    per_family.ip_version = family;
    per_family.fit_within = limit;
    std::vector<BpfProgram> programs;
    std::vector<std::vector<std::size_t>> members;
    if (split || script) {
      SplitCompilation result = !family && split_both ? std::move(*split_both)
                                                      : compile_split(selection.sources, per_family, limit);
      if (!printed_diagnostics || !result.ok) {
        for (const auto& d : result.diagnostics) fmt::print(stderr, "{}", d.render());
        printed_diagnostics = true;
      }
      if (!result.ok) return kExitError;
      programs = std::move(result.programs);
      members = std::move(result.members);
    } else {
      per_family.refuse_over = limit;  // refused as soon as its first signatures are over
      Compilation result = compile(selection.sources, per_family);
      if (result.oversize) {
        // The reason is the library's, the help this command line's.
        for (std::size_t d = 0; d + 1 < result.diagnostics.size(); ++d) {
          fmt::print(stderr, "{}", result.diagnostics[d].render());
        }
        fmt::print(stderr, "p0fbpf: error: {}\n  help: {}\n", result.diagnostics.back().diagnostic.message,
                   selection.sources.size() > 1
                       ? "--split makes as many programs as needed (one rule each), or raise --max-insns with "
                         "another format"
                       : chosen == Format::Iptables ? "iptables -m bpf takes at most 64 (XT_BPF_MAX_NUM_INSTR): "
                                                      "-f script makes one rule per IP version, or use "
                                                      "--max-insns with another format"
                                                    : "raise --max-insns (at most 4096)");
        return kExitError;
      }
      if (!report(result)) return kExitError;
      programs.push_back(std::move(*result.program));
      members.push_back(every_member(selection));
    }
    for (std::size_t p = 0; p < programs.size(); ++p) {
      if (!is_valid(programs[p])) {
        fmt::print(stderr, "p0fbpf: internal error: libpcap's bpf_validate rejects a program\n");
        return kExitError;
      }
      if (script) {
        std::string line = emit(programs[p], Format::Iptables);
        std::string comment = describe(selection, members[p]);
        if (warned.insert(comment).second) warn_if_unsafe_comment(comment);
        line.pop_back();
        rules.push_back({*family, options.direction, line, comment});
      } else {
        if (emitted && chosen != Format::Iptables) text += "\n";
        // Several C arrays in one file need names of their own.
        text += emit(programs[p], chosen, split ? fmt::format("p0fbpf_{}", emitted + 1) : "p0fbpf");
        ++emitted;
      }
    }
    if (!script && programs.empty()) {
      // Nothing can match: one program that says so.
      text += emit(empty_program(options), chosen);
    }
  }
  if (script) return write_firewall_script(rules, script_options);
  return write_stdout(ir_text + text) ? kExitOk : kExitError;
}

}  // namespace p0fbpf::cli
