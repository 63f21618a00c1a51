// p0fbpf: compile p0f TCP signatures into classic BPF programs.
// A thin command line over the library; all the work is in compile().

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "p0fbpf/compiler.hpp"
#include "p0fbpf/emit.hpp"

namespace {

constexpr int kExitError = 2;
constexpr unsigned kXtBpfMaxInstructions = 64;  // XT_BPF_MAX_NUM_INSTR
constexpr unsigned kBpfMaxInstructions = 4096;  // BPF_MAXINSNS

constexpr const char* kDescription =
    "Compile p0f TCP signatures into a classic BPF program.\n\n"
    "A signature is p0f's  ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass  as in\n"
    "p0f.fp or a raw_sig line. Several signatures make one program that matches any of\n"
    "them; '-' reads signatures from standard input, one a line, '#' starts a comment.";

constexpr const char* kExamples = R"HELP(
Examples:
  # Drop a SYN flood fingerprinted by p0f (one line for iptables -m bpf):
  iptables -A INPUT -p tcp --syn -m bpf \
    --bytecode "$(p0fbpf '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0')" -j DROP

  # The same signature for IPv4 and IPv6, as a tcpdump -d style listing:
  p0fbpf -f asm '*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'

  # Match everything BUT the signature; only the fields it names (bpftools):
  p0fbpf --negate --loose '4:64:0:1460:65535,6:mss,nop,ws:df:0'

  # A SYN+ACK signature from p0f.fp's [tcp:response], as a C array:
  p0fbpf --response -f c '*:64:0:*:mss*10,4:mss,sok,ts,nop,ws:df:0'

  # For a packet socket or a pcap capture on Ethernet (VLAN-tagged or not):
  p0fbpf --link ether -f c '*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'

  # Signatures from a file:
  grep -v '^;' my.sigs | p0fbpf -

Modes:
  exact (default)  accept exactly the packets p0f 3.09b strictly matches:
                   flags, option layout and walk, every quirk, TTL window,
                   p0f's window multiplier detection, payload class.
  --loose          check only what the signature names (Cloudflare bpftools).

Exit status: 0 on success, 2 on any error (nothing is printed on stdout then).
)HELP";

std::string trim(const std::string& text) {
  const char* space = " \t\r\n\v\f";
  auto begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return {};
  auto end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

// Signatures from standard input: one a line, '#' to the end of a line is
// a comment, blank lines are skipped.
std::vector<p0fbpf::SignatureSource> read_stdin() {
  std::vector<p0fbpf::SignatureSource> sources;
  std::string line;
  int number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::string text = trim(line);
    if (!text.empty()) sources.push_back({text, fmt::format("<stdin>:{}", number)});
  }
  return sources;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kDescription, "p0fbpf"};
  app.footer(kExamples);
  app.set_version_flag("--version", std::string("p0fbpf ") + P0FBPF_VERSION);

  std::vector<std::string> signatures;
  std::string format_name = "iptables";
  bool negate = false;
  bool loose = false;
  bool response = false;
  unsigned max_instructions = 0;
  std::string link_name = "raw";
  std::optional<unsigned> l3_offset;

  app.add_option("signature", signatures, "p0f signatures, or - to read them from standard input")
      ->type_name("SIGNATURE");
  app.add_option("-f,--format", format_name,
                 "output format: iptables (one line for -m bpf --bytecode, default), "
                 "asm (tcpdump -d listing with comments), c (sock_filter array), "
                 "ddd (tcpdump -ddd)")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"iptables", "asm", "c", "ddd"}));
  app.add_flag("-n,--negate", negate, "accept the packets the signatures do not match");
  app.add_flag("--loose", loose, "check only the fields a signature names, like bpftools");
  app.add_flag("--response", response,
               "compile SYN+ACK signatures (p0f.fp [tcp:response]) instead of SYN ones");
  app.add_option("-l,--link", link_name,
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "p0fbpf: error: {}\nRun 'p0fbpf --help' for usage.\n", e.what());
    return kExitError;
  }

  std::vector<p0fbpf::SignatureSource> sources;
  for (const std::string& signature : signatures) {
    if (signature == "-") {
      auto from_stdin = read_stdin();
      sources.insert(sources.end(), from_stdin.begin(), from_stdin.end());
    } else {
      sources.push_back({signature, ""});
    }
  }
  if (sources.empty()) {
    fmt::print(stderr, "p0fbpf: error: no signature given\nRun 'p0fbpf --help' for usage.\n");
    return kExitError;
  }

  p0fbpf::Format format = *p0fbpf::parse_format(format_name);
  p0fbpf::LinkLayer link{*p0fbpf::parse_link_type(link_name), l3_offset.value_or(0)};
  if (l3_offset && link.type != p0fbpf::LinkType::Raw) {
    fmt::print(stderr, "p0fbpf: error: --l3-offset goes with --link raw, not --link {}\n", link_name);
    return kExitError;
  }
  if (max_instructions == 0) {
    max_instructions = format == p0fbpf::Format::Iptables ? kXtBpfMaxInstructions : kBpfMaxInstructions;
  }

  p0fbpf::CompileOptions options;
  options.lower.mode = loose ? p0fbpf::MatchMode::Loose : p0fbpf::MatchMode::Exact;
  options.lower.direction = response ? p0fbpf::Direction::Response : p0fbpf::Direction::Request;
  options.codegen.negate = negate;
  options.link = link;

  p0fbpf::Compilation result = p0fbpf::compile(sources, options);
  for (const auto& diagnostic : result.diagnostics) fmt::print(stderr, "{}", diagnostic.render());
  if (!result.ok()) return kExitError;

  const p0fbpf::BpfProgram& program = *result.program;
  if (!p0fbpf::is_valid(program)) {
    fmt::print(stderr, "p0fbpf: internal error: libpcap's bpf_validate rejects the program\n");
    return kExitError;
  }
  if (program.instructions.size() > max_instructions) {
    fmt::print(stderr,
               "p0fbpf: error: the program has {} instructions, more than the {} allowed\n"
               "  help: {}\n",
               program.instructions.size(), max_instructions,
               format == p0fbpf::Format::Iptables
                   ? "iptables -m bpf takes at most 64 (XT_BPF_MAX_NUM_INSTR): split the "
                     "signatures over several rules, or use --max-insns with another format"
                   : "raise --max-insns (at most 4096), or split the signatures");
    return kExitError;
  }
  std::string text = p0fbpf::emit(program, format);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : kExitError;
}
