#include <fmt/format.h>

#include "commands.hpp"

namespace p0fbpf::cli {

void DeployFlags::add_to(CLI::App& app) {
  app.add_option("--hook", hook,
                 "where the program runs: iptables (default; iptables and ip6tables rules, whose -p tcp --syn "
                 "lets only SYNs reach it) or tc (which sees every packet: with --negate, the program itself lets "
                 "every packet that is not a TCP SYN through, also with --link raw for an L3 device). With -f "
                 "script, tc writes one cls_bpf filter on --dev, whose program reads the Ethernet or the IP header "
                 "as the device has. With -f nft: input (default; the inet table's chain at hook input, priority "
                 "filter: SYNs to this host), prerouting (priority raw: before conntrack makes an entry for the "
                 "SYN, forwarded SYNs too) or ingress with --dev DEV (a netdev table on that device: every frame "
                 "it receives, before the IP stack; rules match only the signatures' SYNs, all else passes; a "
                 "payload + or options ending in sack are refused there, --hook prerouting holds them)")
      ->type_name("HOOK")
      ->check(CLI::IsMember({"iptables", "tc", "input", "prerouting", "ingress"}));
  app.add_option("--chain", chain,
                 "script: the chain the rules go in (default INPUT); nft: the name of the table's base chain "
                 "(default: the hook's name)")
      ->type_name("CHAIN");
  app.add_option("--target", target,
                 "script: what a match does: an iptables target (default DROP), or with --hook tc a tc action "
                 "(default drop; e.g. 'mirred egress mirror dev DEV'); nft: drop (default), accept, reject "
                 "(reject with tcp reset), or 'jump CHAIN' / 'goto CHAIN' to a chain the file declares empty in "
                 "the table, for rules you add after loading it")
      ->type_name("TARGET");
  app.add_option("--table", table,
                 "nft: the table the file replaces (default p0fbpf): inet at --hook input or prerouting, netdev "
                 "at --hook ingress")
      ->type_name("TABLE");
  app.add_flag("--count-only", count_only,
               "script: rules that only count matches (iptables -v, tc -s) and let every packet through; xdp: "
               "the program counts and passes every packet; nft: rules with counters and no verdict (nft list "
               "counters)");
  app.add_option("--rate", rate,
                 "script: the target applies only to the matching SYNs beyond N a second, counted for all the "
                 "script's rules of a family together (flood sources are spoofed); iptables' hashlimit, burst N; "
                 "nft: one named limit (rate over N/second, burst N) for all rules of both IP versions")
      ->type_name("N/s");
  app.add_option("--dev", device,
                 "script, --hook tc: the device the filter goes on; nft, --hook ingress: the device the netdev "
                 "table's chain is bound to")
      ->type_name("DEVICE");
  app.add_option("--direction", direction,
                 fmt::format("script, --hook tc: ingress or egress (default {})", kTcDirection))
      ->type_name("DIRECTION");
  app.add_option("--pref", priority,
                 fmt::format("script, --hook tc: the filter's priority, which identifies it (default {})", kTcPriority))
      ->type_name("N");
  app.add_option("-d,--destination", destinations,
                 "script and nft: only packets to this address or prefix (repeatable); nft: the sets dst4 and dst6")
      ->type_name("ADDR")
      ->allow_extra_args(false);
  app.add_option("--ipset", ipset,
                 "script: only packets to addresses in these ipsets: V4SET,V6SET (a set holds one family), "
                 "inet:NAME or inet6:NAME for the rules of one family, or NAME when all rules are of one family")
      ->type_name("SETS");
  app.add_option("--pinned", pinned,
                 "script: one rule per IP version (iptables -m bpf --object-pinned DIR/p0fbpf_HASH) for the whole "
                 "selection, with no 64-instruction limit; the script pins the eBPF program in DIR, a BPF file "
                 "system, with this p0fbpf (or $P0FBPF), and --delete removes it after the rules")
      ->type_name("DIR");
}

}  // namespace p0fbpf::cli
