#include <cstdio>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/emit.hpp"

namespace p0fbpf::cli {
namespace {

constexpr unsigned kXtBpfMaxInstructions = 64;  // XT_BPF_MAX_NUM_INSTR
constexpr unsigned kBpfMaxInstructions = 4096;  // BPF_MAXINSNS

}  // namespace

void CompileCommand::add_to(CLI::App& app) {
  flags.add_to(app, "accept the packets the signatures do not match");
  app.add_option("-f,--format", format,
                 "output format: iptables (one line for -m bpf --bytecode, default), "
                 "asm (tcpdump -d listing with comments), c (sock_filter array), "
                 "ddd (tcpdump -ddd)")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"iptables", "asm", "c", "ddd"}));
  app.add_option("-l,--link", link,
                 "what comes before the IP header: raw (nothing: iptables, ip6tables, tc; default), "
                 "ether (Ethernet, with or without one 802.1Q tag), sll (Linux cooked capture)")
      ->type_name("LINK")
      ->check(CLI::IsMember({"raw", "ether", "sll"}));
  app.add_option("--l3-offset", l3_offset, "with --link raw: the IP header starts N bytes in (bpftools -o)")
      ->type_name("N")
      ->check(CLI::Range(0u, 1500u));
  app.add_option("--max-insns", max_instructions,
                 "largest program allowed (default 64 for iptables, xt_bpf's limit; 4096 otherwise)")
      ->type_name("N")
      ->check(CLI::Range(1u, kBpfMaxInstructions));
}

int CompileCommand::run() const {
  auto sources = read_signatures(flags.signatures);
  if (!sources) return kExitError;
  Format chosen = *parse_format(format);
  CompileOptions options = flags.options();
  options.link = {*parse_link_type(link), l3_offset.value_or(0)};
  if (l3_offset && options.link.type != LinkType::Raw) {
    fmt::print(stderr, "p0fbpf: error: --l3-offset goes with --link raw, not --link {}\n", link);
    return kExitError;
  }
  unsigned limit = max_instructions;
  if (limit == 0) limit = chosen == Format::Iptables ? kXtBpfMaxInstructions : kBpfMaxInstructions;

  Compilation result = compile(*sources, options);
  if (!report(result)) return kExitError;
  const BpfProgram& program = *result.program;
  if (!is_valid(program)) {
    fmt::print(stderr, "p0fbpf: internal error: libpcap's bpf_validate rejects the program\n");
    return kExitError;
  }
  if (program.instructions.size() > limit) {
    fmt::print(stderr,
               "p0fbpf: error: the program has {} instructions, more than the {} allowed\n"
               "  help: {}\n",
               program.instructions.size(), limit,
               chosen == Format::Iptables
                   ? "iptables -m bpf takes at most 64 (XT_BPF_MAX_NUM_INSTR): split the "
                     "signatures over several rules, or use --max-insns with another format"
                   : "raise --max-insns (at most 4096), or split the signatures");
    return kExitError;
  }
  std::string text = emit(program, chosen);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? kExitOk : kExitError;
}

}  // namespace p0fbpf::cli
