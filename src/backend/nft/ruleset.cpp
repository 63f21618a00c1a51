#include <arpa/inet.h>

#include <array>

#include <fmt/format.h>

#include "backend/nft/ruleset.hpp"

#include "backend/nft/dispatch.hpp"
#include "backend/nft/named_sets.hpp"
#include "backend/nft/names.hpp"
#include "backend/nft/translate.hpp"

namespace p0fbpf {
namespace {

// A destination of -d: an address, or a prefix with its host bits cleared
// (which nft requires of a prefix).
struct Destination {
  int family = 0;  // 4 or 6; 0: neither
  std::array<unsigned char, 16> bytes{};
  unsigned length = 0;  // of the prefix, in bits

  unsigned total() const { return family == 4 ? 32 : 128; }
  // Whether every address of `other` is one of this prefix's.
  bool covers(const Destination& other) const {
    if (other.family != family || other.length < length) return false;
    for (unsigned bit = 0; bit < length; ++bit) {
      auto mask = static_cast<unsigned char>(0x80u >> (bit % 8));
      if ((bytes[bit / 8] & mask) != (other.bytes[bit / 8] & mask)) return false;
    }
    return true;
  }
  // In nft's form: ADDR, or ADDR/LEN.
  std::string text() const {
    char printed[INET6_ADDRSTRLEN];
    inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes.data(), printed, sizeof printed);
    return length == total() ? std::string(printed) : fmt::format("{}/{}", printed, length);
  }
};

// ADDR or ADDR/LEN; family 0 when it is neither.
Destination destination(const std::string& text) {
  Destination d;
  std::string address = text.substr(0, text.find('/'));
  d.family = inet_pton(AF_INET, address.c_str(), d.bytes.data()) == 1    ? 4
             : inet_pton(AF_INET6, address.c_str(), d.bytes.data()) == 1 ? 6
                                                                         : 0;
  if (!d.family) return {};
  d.length = d.total();
  if (auto slash = text.find('/'); slash != std::string::npos) {
    std::string digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || digits.find_first_not_of("0123456789") != std::string::npos) return {};
    d.length = static_cast<unsigned>(std::stoul(digits));
    if (d.length > d.total()) return {};
  }
  for (unsigned bit = d.length; bit < d.total(); ++bit) {
    d.bytes[bit / 8] &= static_cast<unsigned char>(~(0x80u >> (bit % 8)));
  }
  return d;
}

// The elements of each family's set (IPv4, IPv6): an interval set refuses
// elements that overlap ("conflicting intervals"), so a destination inside
// another (10.1.2.3 in 10.0.0.0/8, or given twice) goes.
std::array<std::vector<std::string>, 2> set_elements(const std::vector<std::string>& destinations) {
  std::vector<Destination> parsed;
  for (const std::string& text : destinations) parsed.push_back(destination(text));
  std::array<std::vector<std::string>, 2> out;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    bool inside = false;
    for (std::size_t j = 0; j < parsed.size() && !inside; ++j) {
      // Of two equal ones, the first stays.
      bool equal = parsed[j].covers(parsed[i]) && parsed[i].covers(parsed[j]);
      inside = j != i && parsed[j].covers(parsed[i]) && (!equal || j < i);
    }
    if (!inside) out[parsed[i].family == 6].push_back(parsed[i].text());
  }
  return out;
}

std::string hook_name(NftHook hook) {
  switch (hook) {
    case NftHook::Input: return "input";
    case NftHook::Prerouting: return "prerouting";
    case NftHook::Ingress: return "ingress";
  }
  return "input";
}

// inet for the IP hooks; netdev for ingress, whose table is bound to no
// family and sees every frame of its device.
std::string family_of(NftHook hook) { return hook == NftHook::Ingress ? "netdev" : "inet"; }

// The verdict a match gets: nft's words for --target.
std::optional<std::string> verdict(const std::string& target) {
  if (target == "drop" || target == "accept") return target;
  if (target == "reject" || target == "reject with tcp reset") return std::string("reject with tcp reset");
  for (const char* jump : {"jump ", "goto "}) {
    if (!target.starts_with(jump)) continue;
    std::string chain = target.substr(5);
    if (nft::is_identifier(chain) && !nft::is_reserved_word(chain)) return target;
  }
  return std::nullopt;
}

std::string chain_of(const NftOptions& o) { return o.chain.empty() ? hook_name(o.hook) : o.chain; }

// The matches every rule of a family starts with: the family (and for IPv6,
// TCP right behind the fixed header, where p0f reads it; nft's own tcp
// expressions would find it behind extension headers), and the destinations.
// At ingress the family is the frame's EtherType (after a VLAN tag, which the
// kernel has moved out of the frame by then).
std::string family_matches(int version, bool destinations, NftHook hook) {
  std::string out = hook == NftHook::Ingress ? (version == 6 ? "meta protocol ip6 ip6 nexthdr tcp" : "meta protocol ip")
                                             : (version == 6 ? "ip6 nexthdr tcp" : "meta nfproto ipv4");
  if (destinations) out += version == 6 ? " ip6 daddr @dst6" : " ip daddr @dst4";
  return out;
}

// The chain that holds the rules of the signature's branch past what they
// have in common (signature and branch counted from 1).
std::string branch_chain(std::size_t signature, std::size_t branch) {
  return fmt::format("sig{}_{}", signature, branch);
}

// Whether a name is of branch_chain()'s form.
bool is_branch_chain(std::string_view name) {
  if (!name.starts_with("sig")) return false;
  std::size_t under = name.find('_');
  auto digits = [](std::string_view d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string_view::npos;
  };
  return under != std::string_view::npos && digits(name.substr(3, under - 3)) && digits(name.substr(under + 1));
}

// Whether a name is one of the chains the file makes of its own: negate
// (--negate's rules) and the branch chains sigN_M (sig0_N of the verdict
// maps among them).
bool is_own_chain(std::string_view name) { return name == "negate" || is_branch_chain(name); }

// How many matches, from the first, every rule has alike.
std::size_t common_prefix(const std::vector<nft::Rule>& rules) {
  std::size_t n = rules.front().matches.size();
  for (const nft::Rule& rule : rules) {
    std::size_t k = 0;
    while (k < n && k < rule.matches.size() && rule.matches[k] == rules.front().matches[k]) ++k;
    n = k;
  }
  return n;
}

}  // namespace

std::optional<std::string> check_nft_options(const NftOptions& o) {
  if (!nft::is_identifier(o.table)) {
    return fmt::format("--table {} is not an nft table name: a letter, then letters, digits or '_', at most 31",
                       quoted(o.table));
  }
  if (o.hook == NftHook::Ingress && o.device.empty()) return std::string("--hook ingress needs --dev DEVICE");
  if (o.hook != NftHook::Ingress && !o.device.empty()) {
    return std::string("--dev goes with --hook ingress: the input and prerouting chains see every device");
  }
  if (!o.device.empty() && !nft::is_device_name(o.device)) {
    return fmt::format("--dev {} is not a device name: 1 to 15 letters, digits, '-', '_' or '.'", quoted(o.device));
  }
  if (!o.chain.empty() && !nft::is_identifier(o.chain)) {
    return fmt::format("--chain {} is not an nft chain name: a letter, then letters, digits or '_', at most 31",
                       quoted(o.chain));
  }
  // nft reads these words as keywords, never as names.
  for (auto [option, name] : {std::pair{"--table", o.table}, {"--chain", o.chain}}) {
    if (nft::is_reserved_word(name)) {
      return fmt::format("{} {}: nft reserves the word {} and cannot read it as a name; name another", option, name,
                         quoted(name));
    }
  }
  if (is_own_chain(o.chain)) {
    return fmt::format("--chain {}: the table's chains negate and sigN_M hold its own rules; name another",
                       quoted(o.chain));
  }
  if (!verdict(o.target)) {
    return fmt::format("--target {}: expected drop, accept, reject, 'jump CHAIN' or 'goto CHAIN' (CHAIN a name, not a "
                       "word nft reserves)",
                       quoted(o.target));
  }
  if (auto v = verdict(o.target); v && (v->starts_with("jump ") || v->starts_with("goto ")) &&
                                  (v->substr(5) == chain_of(o) || is_own_chain(v->substr(5)))) {
    return fmt::format("--target {}: the table's own chain; name another", quoted(o.target));
  }
  for (const std::string& d : o.destinations) {
    if (!destination(d).family) return fmt::format("-d {} is not an IPv4 or IPv6 address or prefix", quoted(d));
  }
  return std::nullopt;
}

namespace nft {

NftRuleset ruleset(const std::vector<Member>& members, const ir::Program* gate, const NftOptions& o) {
  NftRuleset out;
  const std::array<std::vector<std::string>, 2> dst = set_elements(o.destinations);  // IPv4, IPv6
  const bool filtered = !o.destinations.empty();
  const bool negate = gate != nullptr;
  TranslateOptions translate_options;
  // Before the IP stack nothing has checked the datagram or trimmed the
  // frame to it: the packet's length is the frame's after the link header,
  // as a classic program on the same bytes sees it.
  translate_options.length_from_ip_header = o.hook != NftHook::Ingress;
  std::string counters, branch_chains;
  std::vector<HookRule> hook_rules;  // the hook chain's (the negated chain's with --negate)
  NamedSets sets;
  bool ok = true;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const Member& member = members[i];
    const SignatureSource& source = member.source;
    std::string counter = fmt::format("sig{}", i + 1);
    std::string comment = nft_comment(member.name);
    counters += fmt::format("  counter {} {{ comment \"{}\" }}\n", counter,
                            nft_comment(member.name == source.text ? source.text : member.name + ": " + source.text));
    for (std::size_t b = 0; b < member.branches.size(); ++b) {
      const ir::Branch& branch = member.branches[b];
      if (filtered && dst[branch.ip_version == 6].empty()) continue;  // no destination of this family
      auto translated = translate(branch, translate_options);
      if (!translated) {
        // At ingress, whether the datagram's length as the IP stack has
        // checked it would do.
        TranslateOptions checked = translate_options;
        checked.length_from_ip_header = true;
        bool prerouting_holds = o.hook == NftHook::Ingress && static_cast<bool>(translate(branch, checked));
        out.diagnostics.push_back(
            {Diagnostic{Severity::Error, {0, source.text.size()},
                        fmt::format("nft cannot express this signature exactly: {}", translated.error().message),
                        std::string(prerouting_holds
                                        ? "before the IP stack nothing has checked the datagram's length against "
                                          "the frame: --hook prerouting can hold it; or "
                                        : "") +
                            "compile it for xt_bpf (p0fbpf SIG, -f script --pinned DIR, or p0fbpf pin PATH SIG), or "
                            "for tc (-f script --hook tc) or XDP (p0fbpf xdp attach)"},
             source});
        ok = false;
        break;
      }
      // Several rules of a branch (IPv4 header lengths, window rules) that
      // begin alike check what they have in common once, in a rule that
      // jumps to a chain of their own holding the rest: a packet that fails
      // it meets one rule, not all of them. Not in the negated chain, whose
      // rules return from it.
      const std::vector<Rule>& made = *translated;
      std::size_t shared = !negate && made.size() >= 2 ? common_prefix(made) : 0;
      std::string family = family_matches(branch.ip_version, filtered, o.hook);
      if (shared > 0) {
        std::string name = branch_chain(i + 1, b + 1);
        HookRule jump{branch.ip_version, family, {}, fmt::format(" jump {} comment \"{}\"", name, comment)};
        for (std::size_t k = 0; k < shared; ++k) jump.matches.push_back(sets.use(made.front().matches[k]));
        hook_rules.push_back(std::move(jump));
        ++out.rules;
        branch_chains += fmt::format("  chain {} {{\n", name);
      }
      for (const Rule& rule : made) {
        HookRule made_rule{branch.ip_version, family, {}, ""};
        for (std::size_t k = shared; k < rule.matches.size(); ++k) {
          made_rule.matches.push_back(sets.use(rule.matches[k]));
        }
        std::string line = fmt::format(" counter name \"{}\"", counter);
        if (negate) {
          line += " return";
        } else if (!o.count_only) {
          if (o.rate) line += " limit name \"flood\"";
          line += " " + *verdict(o.target);
        } else if (shared > 0) {
          // A branch's rules are disjoint: once one has counted, the rest
          // of its chain cannot match.
          line += " return";
        }
        line += fmt::format(" comment \"{}\"", comment);
        made_rule.action = std::move(line);
        if (shared > 0) {
          branch_chains += "   ";
          for (const std::string& m : made_rule.matches) branch_chains += " " + m;
          branch_chains += made_rule.action + "\n";
        } else {
          hook_rules.push_back(std::move(made_rule));
        }
        ++out.rules;
      }
      if (shared > 0) branch_chains += "  }\n";
    }
  }
  if (!ok) return out;
  // Not in the negated chain, whose rules return from it.
  Dispatched dispatched = dispatch(hook_rules, !negate);
  const std::string& rules = dispatched.rules;
  // The SYN gate sends the direction's SYNs to the signatures; a SYN no
  // signature returns from is counted and gets the verdict.
  std::string gate_rules;
  for (std::size_t b = 0; negate && b < gate->branches.size(); ++b) {
    const ir::Branch& branch = gate->branches[b];
    if (filtered && dst[branch.ip_version == 6].empty()) continue;
    auto translated = translate(branch, translate_options);
    if (!translated) throw std::logic_error("nft: the SYN gate: " + translated.error().message);
    for (const Rule& rule : *translated) {
      std::string line = "    " + family_matches(branch.ip_version, filtered, o.hook);
      for (const std::string& m : rule.matches) line += " " + sets.use(m);
      gate_rules += line + " goto negate\n";
    }
  }

  const std::string chain = chain_of(o);
  std::string text = fmt::format(
      "#!/usr/sbin/nft -f\n"
      "# Made by {0}: p0f signatures as native nftables rules, one rule per way a\n"
      "# signature matches, its counter named sigN; what a branch's rules begin\n"
      "# with alike is checked once, before a jump to their chain sigN_M; rules\n"
      "# that differ in their first compare's constant are reached through a\n"
      "# verdict map, the rules of each constant in a chain sig0_N; each set of\n"
      "# values is defined once, as setN. Loading this file replaces the table\n"
      "# {1} {2} (and nothing else) in one transaction: nft -f FILE. The table\n"
      "# is made (if it is not there), deleted and defined again on one line, so\n"
      "# that a copy of this file cut short at a line's end changes nothing.\n"
      "table {1} {2}; delete table {1} {2}; table {1} {2} {{\n",
      o.generator.empty() ? std::string("p0fbpf") : o.generator, family_of(o.hook), o.table);
  text += counters;
  if (negate) text += "  counter unmatched { comment \"SYNs no signature matches\" }\n";
  // As the script's hashlimit: a burst of N, so that N matches a second pass
  // however they bunch up (nft's own default is 5).
  if (o.rate) text += fmt::format("  limit flood {{ rate over {0}/second burst {0} packets }}\n", *o.rate);
  const char* set_types[2] = {"ipv4_addr", "ipv6_addr"};
  for (int f = 0; f < 2; ++f) {
    if (!filtered) break;
    std::string elements;
    for (const std::string& d : dst[f]) elements += (elements.empty() ? "" : ", ") + d;
    // An empty set is declared too, so that every rule's set exists.
    text += fmt::format("  set dst{} {{\n    type {}\n    flags interval\n{}  }}\n", f ? 6 : 4, set_types[f],
                        elements.empty() ? "" : fmt::format("    elements = {{ {} }}\n", elements));
  }
  text += sets.definitions();
  std::string v = verdict(o.target).value_or("drop");
  if (!o.count_only && (v.starts_with("jump ") || v.starts_with("goto "))) {
    text += fmt::format("  # Your chain for --target {}: add its rules after loading this file; loading it again\n"
                        "  # empties it.\n  chain {} {{\n  }}\n", v, v.substr(5));
  }
  std::string device = o.hook == NftHook::Ingress ? fmt::format(" device \"{}\"", o.device) : "";
  text += fmt::format("  chain {} {{\n    type filter hook {}{} priority {}; policy accept;\n", chain,
                      hook_name(o.hook), device, o.hook == NftHook::Prerouting ? "raw" : "filter");
  if (!negate) {
    text += rules;
  } else {
    text += gate_rules;
    text += "  }\n  chain negate {\n";
    text += rules;
    text += "    counter name \"unmatched\"";
    if (!o.count_only) {
      if (o.rate) text += " limit name \"flood\"";
      text += " " + v;
    }
    text += "\n";
  }
  text += "  }\n" + dispatched.chains + branch_chains + "}\n";
  out.text = std::move(text);
  out.ok = true;
  return out;
}

}  // namespace nft
}  // namespace p0fbpf
