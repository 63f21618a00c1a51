// p0fbpf: compile p0f TCP signatures into classic BPF programs, test and
// fingerprint captures, and suggest signatures for an attack's capture. The
// work is in the library; this only dispatches.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "commands.hpp"
#include "config_file.hpp"

namespace {

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

  # tc on an Ethernet device sees the Ethernet frame (tc sends 2000 instructions at most):
  tc filter add dev eth0 ingress bpf bytecode \
    "$(p0fbpf --link ether --max-insns 2000 '*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0')" action drop

  # A script that installs rules all or nothing (--hook tc --dev DEV for tc), for
  # a label of p0fbpf's own database (p0fbpf --list shows them; -F another):
  p0fbpf --label 'Linux:6\.x$' -f script > rules.sh && bash rules.sh
  p0fbpf -F /etc/p0f/p0f.fp --list                # p0f's labels instead

  # For a packet socket or a pcap capture on Ethernet (VLAN-tagged or not):
  p0fbpf --link ether -f c '*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'

  # Signatures from a file:
  grep -v '^;' my.sigs | p0fbpf -

  # Drop it in XDP, before the kernel builds a socket buffer (no compiler needed):
  p0fbpf xdp attach eth0 '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0' && p0fbpf xdp stats eth0
  # Which signatures are in a capture of the flood, and does a rule catch it?
  p0fbpf fingerprint -i eth0 --seconds 10 --top 5   # live (root), or:
  p0fbpf fingerprint -r flood.pcap --top 5
  p0fbpf test -r flood.pcap -w caught.pcap '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'

  # A few signatures that catch the flood and spare normal traffic:
  p0fbpf suggest -r flood.pcap --baseline monday.pcap

Modes:
  exact (default)  accept exactly the packets p0f 3.09b strictly matches:
                   flags, option layout and walk, every quirk, TTL window,
                   p0f's window multiplier detection, payload class.
  --loose          check only what the signature names (Cloudflare bpftools).

Exit status: 0 on success, 2 on any error (nothing is printed on stdout then);
'test' exits 1 when no packet matched, like grep.
)HELP";

}  // namespace

int main(int argc, char** argv) {
  using namespace p0fbpf::cli;
  CLI::App app{kDescription, "p0fbpf"};
  app.footer(std::string(kExamples) + quirks_help());
  app.set_version_flag("--version", std::string("p0fbpf ") + P0FBPF_VERSION);
  app.require_subcommand(0, 1);

  CompileCommand compile;
  compile.add_to(app);

  TestCommand test;
  CLI::App* test_app = app.add_subcommand(
      "test", "Run the compiled program over a capture: prints 'M of N packets matched'\n"
              "(one line per capture with several -r). The signatures are given as for\n"
              "compiling, also with -F and --label; the program is compiled for each capture's\n"
              "link type. Exit status 0 if a packet matched, 1 if none did, 2 on errors. As in\n"
              "tcpdump, -r - reads the capture from standard input and -w - writes the matching\n"
              "packets to standard output (the count then goes to stderr). -w FILE is replaced\n"
              "only once completely written. -i DEVICE tests a live capture instead (root).");
  test.add_to(*test_app);
  test_app->footer(
      "\nExamples:\n  p0fbpf test -r flood.pcap -w caught.pcap '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'\n"
      "  zcat flood.pcap.gz | p0fbpf test -r - -w - '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0' | tcpdump -nr -\n"
      "  p0fbpf test --label 'Linux:6\\.x' -r monday.pcap -r tuesday.pcap\n"
      "  p0fbpf test -i eth0 --seconds 10 '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'\n");

  FingerprintCommand fingerprint;
  CLI::App* fingerprint_app = app.add_subcommand(
      "fingerprint", "Print p0f's raw_sig of every SYN in a capture, one line per distinct\n"
                     "signature, 'COUNT  SIGNATURE  LABEL', most frequent first. The signatures are p0f\n"
                     "3.09b's exactly; for SYN+ACKs (--response) without p0f's peer-MSS window rule.\n"
                     "The label is the one p0f gives it from the database (-F), with p0f's 'generic'\n"
                     "or 'fuzzy' after it, or ??? for none.\n"
                     "The capture is a file (-r) or live (-i DEVICE, root or CAP_NET_RAW) until -c,\n"
                     "--seconds, Ctrl-C or SIGTERM; libpcap's counts of packets received and dropped\n"
                     "then go to stderr (and --json), so that a sampled result says it is sampled.");
  fingerprint.add_to(*fingerprint_app);
  fingerprint_app->footer(
      "\nExamples:\n  p0fbpf fingerprint -r flood.pcap --top 1 | awk '{print $2}' | p0fbpf -\n"
      "  p0fbpf fingerprint -i eth0 --seconds 10 -c 100000 -w flood.pcap\n");

  ConvertCommand convert;
  CLI::App* convert_app = app.add_subcommand(
      "convert", "Print p0f signatures for fingerprints of other formats, one per line, ready for\n"
                 "'p0fbpf -': MuonFP strings (WINDOW:OPTIONKINDS:MSS:WSCALE) or Satori tcpsig strings\n"
                 "(WINDOW:TTL:DF:HDRLEN:OPTIONS:QUIRKS). What a format does not say becomes the loosest\n"
                 "value p0f's grammar has: MuonFP gives any IP version, TTL 255- (any), IP options *\n"
                 "(a p0fbpf extension), no quirks (exact mode then wants none; --loose checks none) and\n"
                 "payload *; an empty MSS or scale is *. Satori's DF gives df (and id+ unless quirk Z),\n"
                 "HDRLEN the IP version and IP option length. A malformed string is an error with a\n"
                 "caret under the fault, and nothing is printed.");
  convert.add_to(*convert_app);
  convert_app->footer(
      "\nExamples:\n  p0fbpf convert --from muonfp 64240:2-1-3-1-1-4:1460:8\n"
      "  p0fbpf convert --from satori 64240:64:1:60:M1460,S,T,N,W7:. | p0fbpf --loose -f ddd -\n");

  XdpCommand xdp;
  CLI::App* xdp_app = app.add_subcommand(
      "xdp", "Drop matching packets in XDP, where they arrive, without a compiler: attach a program to a\n"
             "device, read its counters, detach it; list and prune p0fbpf's pins.");
  xdp.add_to(*xdp_app);
  xdp_app->footer(
      "\nExamples:\n  p0fbpf xdp attach eth0 '4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0'\n"
      "  p0fbpf xdp attach eth0 --count-only --label 'Linux'\n"
      "  p0fbpf xdp stats eth0 --watch\n"
      "  p0fbpf xdp detach eth0\n"
      "  p0fbpf xdp list && p0fbpf xdp prune\n");
  PinCommand pin;
  CLI::App* pin_app = app.add_subcommand(
      "pin", "Load the signatures' program as an eBPF socket filter and pin it at PATH in a BPF file system,\n"
             "for iptables -m bpf --object-pinned PATH (and ip6tables): no 64-instruction limit, so one\n"
             "rule can hold a whole label or database. Pinning again replaces the pin in one step (only a\n"
             "socket filter p0fbpf pinned: anything else at PATH is an error); rules already added keep the\n"
             "program they were given.");
  pin.add_to(*pin_app);
  pin_app->footer(
      "\nExample:\n  p0fbpf pin /sys/fs/bpf/p0fbpf-linux --label Linux\n"
      "  iptables -A INPUT -p tcp --syn -m bpf --object-pinned /sys/fs/bpf/p0fbpf-linux -j DROP\n");
  SuggestCommand suggest;
  CLI::App* suggest_app = app.add_subcommand(
      "suggest", "Suggest a few exact-mode signatures that catch the SYNs of an attack's capture\n"
                 "and spare those of normal traffic (--baseline): a table of each signature's\n"
                 "attack SYNs, baseline SYNs hit and program size, then the total; warnings name\n"
                 "the p0f.fp labels a signature would also match. With -f, the rules instead.\n"
                 "The attack is a file (-r) or a live capture (-i DEVICE, root).");
  suggest.add_to(*suggest_app);
  suggest_app->footer(
      "\nExamples:\n  p0fbpf suggest -r flood.pcap --baseline monday.pcap\n"
      "  p0fbpf suggest -r flood.pcap --baseline monday.pcap -f script > block.sh\n"
      "  p0fbpf suggest -i eth0 --seconds 30 --baseline monday.pcap -w flood.pcap\n");

  // Every command reads options from a file too (config_file.hpp).
  add_config_option(app);

  try {
    std::vector<std::string> args = config_first(argc, argv);
    std::vector<const char*> arg_pointers;
    for (const std::string& arg : args) arg_pointers.push_back(arg.c_str());
    app.parse(static_cast<int>(arg_pointers.size()), arg_pointers.data());
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // The message may quote a config file's text: printable only.
    fmt::print(stderr, "p0fbpf: error: {}\nRun 'p0fbpf --help' for usage.\n", printable_lines(e.what()));
    return kExitError;
  }
  int status = kExitError;
  try {
    status = test_app->parsed()          ? test.run()
             : fingerprint_app->parsed() ? fingerprint.run()
             : xdp_app->parsed()         ? xdp.run()
             : pin_app->parsed()         ? pin.run()
             : suggest_app->parsed()     ? suggest.run()
             : convert_app->parsed()     ? convert.run()
                                         : compile.run();
  } catch (const std::exception& e) {
    // fmt reports a failed write to a stream by throwing.
    fmt::print(stderr, "p0fbpf: error: {}\n", e.what());
    status = kExitError;
  }
  // Output larger than stdio's buffer is written before this point, so its
  // errors only show in the stream's error flag; a full disk must not look
  // like success.
  if (!close_stdout(status != kExitError)) return kExitError;
  return status;
}
