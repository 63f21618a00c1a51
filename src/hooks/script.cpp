#include "p0fbpf/script.hpp"

#include <arpa/inet.h>

#include <cctype>
#include <cstdint>
#include <string_view>

#include <fmt/format.h>

#include "p0fbpf/diagnostic.hpp"
#include "base/fnv1a.hpp"
#include "hooks/shell_script.hpp"

namespace p0fbpf {
namespace {

using shell::is_name;
using shell::quote;

constexpr std::size_t kMaxComment = 255;  // xt_comment keeps 256 bytes with the NUL
constexpr std::size_t kMaxName = 28;      // iptables' chain and target names (XT_EXTENSION_MAXNAMELEN - 1)
constexpr std::size_t kMaxSetName = 31;   // IPSET_MAXNAMELEN - 1
// The family of ADDR or ADDR/LEN, 0 if it is neither.
int address_family(const std::string& text) {
  std::string address = text.substr(0, text.find('/'));
  unsigned char buffer[16];
  int family = inet_pton(AF_INET, address.c_str(), buffer) == 1    ? 4
               : inet_pton(AF_INET6, address.c_str(), buffer) == 1 ? 6
                                                                   : 0;
  if (family && text.find('/') != std::string::npos) {
    std::string length = text.substr(text.find('/') + 1);
    if (length.empty() || length.size() > 3 || length.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(length) > (family == 4 ? 32 : 128)) {
      return 0;
    }
  }
  return family;
}

// A path iptables -S prints as it was given and a shell leaves alone.
bool is_pin_directory(const std::string& path) {
  if (path.size() < 2 || path[0] != '/' || path.back() == '/') return false;
  for (char c : path) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("/-_.").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> check_pinned(const PinnedProgram& pinned, const std::vector<std::string>& destinations) {
  if (!is_pin_directory(pinned.directory)) {
    return fmt::format("--pinned {}: expected an absolute path of letters, digits, '/', '-', '_' and '.'",
                       quoted(pinned.directory));
  }
  if (pinned.path().size() >= kXtBpfMaxPath) {
    return fmt::format("--pinned: {} is longer than iptables takes ({} characters)", quoted(pinned.path()),
                       kXtBpfMaxPath - 1);
  }
  int per_version[2] = {};
  for (const std::string& d : destinations) {
    if (++per_version[address_family(d) == 6] > 1) {
      return std::string("--pinned makes one rule per IP version: give at most one -d per version\n"
                         "  help: --ipset matches many addresses in one rule");
    }
  }
  // One line of the script each, read by p0fbpf pin as they were compiled.
  for (const std::string& signature : pinned.signatures) {
    bool printable = !signature.empty();
    for (char c : signature) printable = printable && is_printable(static_cast<unsigned char>(c));
    if (!printable) return fmt::format("--pinned: the signature {} is not printable text", quoted(signature));
  }
  return std::nullopt;
}

// The sets --ipset names, per family; a bare name is `either`.
struct Sets {
  std::string v4, v6, either;
  bool any() const { return !v4.empty() || !v6.empty() || !either.empty(); }
};

std::optional<Sets> parse_sets(const std::string& text, std::string& problem) {
  Sets sets;
  if (text.empty()) return sets;
  auto comma = text.find(',');
  auto named = [&](const std::string& name) {
    if (is_name(name, kMaxSetName)) return true;
    problem = fmt::format("--ipset: {} is not a set name", quoted(name));
    return false;
  };
  if (comma != std::string::npos) {
    sets.v4 = text.substr(0, comma);
    sets.v6 = text.substr(comma + 1);
    if (!named(sets.v4) || !named(sets.v6)) return std::nullopt;
    return sets;
  }
  if (text.rfind("inet:", 0) == 0) sets.v4 = text.substr(5);
  else if (text.rfind("inet6:", 0) == 0) sets.v6 = text.substr(6);
  else sets.either = text;
  if (!named(sets.v4 + sets.v6 + sets.either)) return std::nullopt;
  return sets;
}

// iptables -S prints a comment in double quotes, where $ and ` expand, and
// iptables-restore reads it there, where " and \ end or escape it.
bool safe_in_comment(unsigned char c) {
  return is_printable(c) && std::string_view("$`\"\\'").find(static_cast<char>(c)) == std::string_view::npos;
}

// The script around the rules.
constexpr const char* kScriptBody = R"SCRIPT(# One line of iptables-restore input: OPERATION CHAIN ARGUMENTS... Arguments
# with spaces are double-quoted; none holds a double quote or a backslash.
restore_line() {{
  local line="$1 $2" argument
  shift 2
  for argument in "$@"; do
    if [[ $argument == *' '* ]]; then line+=" \"$argument\""; else line+=" $argument"; fi
  done
  printf '%s\n' "$line"
}}

# Before any change: the tools, the chain in each family, the sets and their
# families, the program sizes.
declare -A checked=()
check_rule() {{
  local tool=$1 argument previous=
  shift
  if [ -z "${{checked[$tool]-}}" ]; then
    command -v "$tool" >/dev/null || die "$tool is not installed"
    command -v "$tool-restore" >/dev/null || die "$tool-restore is not installed"
    "$tool" -S "$chain" >/dev/null 2>&1 || die "$tool has no chain $chain in the filter table; nothing was changed"
    checked[$tool]=1
  fi
  for argument in "$@"; do
    if [ "$previous" = --bytecode ] && [ "${{argument%%,*}}" -gt {max_insns} ]; then
      die "a program of ${{argument%%,*}} instructions is over xt_bpf's limit of {max_insns}; nothing was changed"
    fi
    if [ "$previous" = --match-set ]; then
      local family=inet
      [ "$tool" = ip6tables ] && family=inet6
      command -v ipset >/dev/null || die "ipset is not installed"
      local header
      header=$(ipset list -t "$argument" 2>/dev/null) || die "ipset $argument does not exist; nothing was changed"
      [[ $header == *"family $family "* ]] ||
        die "ipset $argument is not of family $family, which $tool needs; nothing was changed"
    fi
    previous=$argument
  done
}}

# Which rules of the chain are this script's. Each rule carries a marker,
# a comment p0fbpf-rule- and a hash of the rule's text, and nothing else
# does; iptables -S prints it last before the target (a comment of its own
# cannot end so: a label's comment is in double quotes). The rules are
# found by their markers in iptables -S, not by iptables -C: iptables-legacy
# cannot find a rule that runs a pinned program again (-C, -D), since the
# rule holds the descriptor the adding process opened the pin with.
# found["TOOL MARKER"] holds the numbers of the rules with MARKER.
declare -A found=() listed=()
find_rules() {{
  local tool=$1 listing line number=0
  listing=$("$tool" -S "$chain") || die "$tool cannot list the chain $chain; nothing was changed"
  listed[$tool]=$listing
  while IFS= read -r line; do
    [[ $line == "-A "* ]] || continue
    number=$((number + 1))
    if [[ $line =~ \ --comment\ (p0fbpf-rule-[0-9a-f]{{16}})(\ -j\ [^\"]*)?$ ]]; then
      # A rule that runs a pinned program is ours only if it runs this
      # pin: such rules are deleted by number.
      if [[ $line == *" --object-pinned "* && $line != *" --object-pinned ${{pin-}} "* ]]; then continue; fi
      found["$tool ${{BASH_REMATCH[1]}}"]+="$number "
    fi
  done <<<"$listing"
}}

# The marker among a rule's arguments.
marker_of() {{
  local argument previous=
  for argument in "$@"; do
    if [ "$previous" = --comment ] && [[ $argument == p0fbpf-rule-* ]]; then
      printf '%s\n' "$argument"
      return 0
    fi
    previous=$argument
  done
  die "a rule has no marker; this script is damaged"
}}

# This action's iptables-restore lines per family, and the lines that
# undo them: installing inserts the rules not there; deleting deletes each
# rule with one of the markers (by its text, as often as it is there; a rule
# with a pinned program by its number, from the last, so that the numbers
# before it hold), and its undo inserts it again at its number.
v4=() v6=() undo4=() undo6=() inserted=()
declare -A seen=()
collect() {{
  local tool=$1 marker number
  local -a numbers
  shift
  marker=$(marker_of "$@")
  [ -z "${{seen[$tool $marker]-}}" ] || return 0
  seen["$tool $marker"]=1
  local -a change=() undo=()
  if [ "$action" = install ]; then
    [ -z "${{found[$tool $marker]-}}" ] || return 0
    change=("$(restore_line -I "$chain" "$@")")
    inserted+=("$tool $marker")
  else
    read -ra numbers <<<"${{found[$tool $marker]-}}"
    for number in "${{numbers[@]}}"; do
      if [[ " $* " == *" --object-pinned "* ]]; then
        change+=("-D $chain $number")
      else
        change+=("$(restore_line -D "$chain" "$@")")
      fi
      undo+=("$(restore_line -I "$chain $number" "$@")")
    done
  fi
  if [ "$tool" = iptables ]; then
    v4+=("${{change[@]}}")
    undo4+=("${{undo[@]}}")
  else
    v6+=("${{change[@]}}")
    undo6+=("${{undo[@]}}")
  fi
}}

# Lines that delete the rules this run inserted into one family (its
# undo); they are the only ones with these markers, since the lock keeps
# other runs of the script out.
undo_inserts() {{
  local tool=$1 key
  local -a numbers=() more
  found=()
  find_rules "$tool"
  for key in "${{inserted[@]}}"; do
    [[ $key == "$tool "* ]] || continue
    read -ra more <<<"${{found[$key]-}}"
    numbers+=("${{more[@]}}")
  done
  [ ${{#numbers[@]}} -gt 0 ] || return 0
  printf '%s\n' "${{numbers[@]}}" | sort -rn | sed "s/^/-D $chain /"
}}

# One transaction: all of the lines take effect, or none.
apply() {{
  local tool=$1
  shift
  [ $# -gt 0 ] || return 0
  {{ echo '*filter'; printf '%s\n' "$@"; echo COMMIT; }} | "$tool-restore" --noflush
}}

# Sorts one family's --delete lines so that the highest numbers go first
# and its undo lines so that the lowest go first.
sort_lines() {{
  local order=$1
  shift
  [ $# -gt 0 ] || return 0
  printf '%s\n' "$@" | sort -t ' ' -k 3,3n"$order"
}}

# Inserts or deletes the rules, as $action says, in both families or none.
change_rules() {{
  local -a lines4 lines6 back4
  found=() seen=() v4=() v6=() undo4=() undo6=() inserted=()
  find_rules iptables
  find_rules ip6tables
  rules collect
  [ ${{#v4[@]}} -gt 0 ] || [ ${{#v6[@]}} -gt 0 ] || return 0
  if [ "$action" = install ]; then
    lines4=("${{v4[@]}}") lines6=("${{v6[@]}}") back4=()
  else
    mapfile -t lines4 < <(sort_lines r "${{v4[@]}}")
    mapfile -t lines6 < <(sort_lines r "${{v6[@]}}")
    mapfile -t back4 < <(sort_lines '' "${{undo4[@]}}")
  fi
  # Rules deleted by number: the chains must be as they were listed (the
  # lock keeps p0fbpf scripts out, not other tools).
  if [ "$action" = delete ] && {{ [ "$(iptables -S "$chain")" != "${{listed[iptables]}}" ] ||
    [ "$(ip6tables -S "$chain")" != "${{listed[ip6tables]}}" ]; }}; then
    die "the chain $chain changed while this script read it; nothing was changed (run it again)"
  fi
  apply iptables "${{lines4[@]}}" || die "iptables-restore refused the rules; nothing was changed"
  if ! apply ip6tables "${{lines6[@]}}"; then
    [ "$action" = delete ] || mapfile -t back4 < <(undo_inserts iptables)
    apply iptables "${{back4[@]}}" || die "ip6tables-restore refused the rules, and undoing the iptables part failed"
    die "ip6tables-restore refused the rules; the iptables part was undone, nothing was changed"
  fi
}}
{pin_functions}
{main_start}  rules check_rule
{pin_before}  change {change}
)SCRIPT";

// What a script whose rules run a pinned program adds.
constexpr const char* kPinFunctions = R"SCRIPT(
# A run that pins the program removes the pin again when it fails or is
# interrupted before the rules are in (before change() has set complete).
pin_made=
undo_pin() {
  local status=$?
  [ "$status" -eq 0 ] || [ -z "$pin_made" ] || [ -n "$complete" ] || rm -f "$pin"
}

# Whether a rule names the pin; iptables -S prints the path as it was given.
rules_name_pin() {
  local tool listed
  for tool in iptables ip6tables; do
    listed=$("$tool" -S 2>/dev/null) || continue
    if [[ "${listed//$'\n'/ } " == *" --object-pinned $pin "* ]]; then return 0; fi
  done
  return 1
}

# Before any change: the pin's file system, and p0fbpf when it has to pin.
# --delete needs no pin: it finds the rules by their markers.
pin_program() {
  [ "$(stat -f -c %T "$pin_dir" 2>/dev/null)" = bpf_fs ] ||
    die "$pin_dir is not a BPF file system (mount -t bpf bpf $pin_dir); nothing was changed"
  [ ! -e "$pin" ] || return 0
  [ "$action" = install ] || return 0
  "$p0fbpf" --version >/dev/null 2>&1 ||
    die "cannot run $p0fbpf, which pins the program (P0FBPF=PATH names another); nothing was changed"
  trap undo_pin EXIT
  # Set first: a signal handled right after the pin is made must find it.
  pin_made=yes
  local status=0
  "$p0fbpf" pin "$pin" "${pin_arguments[@]}" || status=$?
  # Refused (exit 2: say something else is at $pin now), it pinned nothing
  # that the exit trap may remove.
  if [ "$status" -ne 0 ]; then
    [ "$status" -gt 128 ] || pin_made=
    die "p0fbpf cannot pin the program at $pin; nothing was changed"
  fi
}

# --delete: the rules, then the pin unless another rule (another script's
# for the same program) still runs it.
change_rules_and_pin() {
  change_rules
  if [ "$action" = delete ] && [ -e "$pin" ] && ! rules_name_pin; then
    rm -f "$pin" || die "the rules are deleted, but not the pin $pin"
  fi
}
)SCRIPT";

constexpr const char* kPinBefore = "  pin_program\n";

// The comment that marks a rule as this script's: "p0fbpf-rule-" and a
// hash of the chain, the rule's text and the pin's path. The same rule of
// two scripts is one rule.
std::string rule_marker(std::string_view rule) { return fmt::format("p0fbpf-rule-{:016x}", fnv1a(rule)); }

}  // namespace

std::string pin_name(std::string_view program) {
  return fmt::format("p0fbpf_{:012x}", fnv1a(program) >> 16);
}

std::optional<std::string> check_script_options(const ScriptOptions& o) {
  if (!is_name(o.chain, kMaxName)) return fmt::format("--chain {} is not a chain name", quoted(o.chain));
  if (!is_name(o.target, kMaxName)) return fmt::format("--target {} is not a target name", quoted(o.target));
  std::string problem;
  std::optional<Sets> sets = parse_sets(o.ipset, problem);
  if (!sets) return problem;
  if (sets->any() && !o.destinations.empty()) return std::string("use either -d or --ipset, not both");
  for (const std::string& d : o.destinations) {
    if (!address_family(d)) return fmt::format("-d {} is not an IPv4 or IPv6 address or prefix", quoted(d));
  }
  if (o.pinned) return check_pinned(*o.pinned, o.destinations);
  return std::nullopt;
}

std::optional<unsigned> parse_rate(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash > 7) return std::nullopt;
  std::string_view unit = text.substr(slash + 1);
  if (unit != "s" && unit != "sec" && unit != "second") return std::nullopt;
  unsigned n = 0;
  for (char c : text.substr(0, slash)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (n == 0 || n > kMaxRatePerSecond) return std::nullopt;
  return n;
}

std::string comment_text(std::string_view text, bool* changed) {
  std::string out(text.substr(0, kMaxComment));
  bool replaced = false;
  for (char& c : out) {
    if (!safe_in_comment(static_cast<unsigned char>(c))) {
      c = '_';
      replaced = true;
    }
  }
  if (text.size() > kMaxComment) out.replace(kMaxComment - 3, 3, "...");
  if (changed) *changed = replaced;
  return out;
}

FirewallScript firewall_script(const std::vector<FirewallRule>& rules, const ScriptOptions& o) {
  FirewallScript script;
  std::string problem;
  Sets sets = parse_sets(o.ipset, problem).value_or(Sets{});
  bool has4 = false, has6 = false;
  for (const FirewallRule& r : rules) (r.ip_version == 6 ? has6 : has4) = true;
  if (!sets.either.empty()) {
    if (has4 && has6) {
      script.error = fmt::format(
          "--ipset {}: a set holds addresses of one family, and there are rules for IPv4 and IPv6\n"
          "  help: name a set for each (--ipset V4SET,V6SET) or the family of this one (--ipset inet:{} or "
          "inet6:{})",
          o.ipset, o.ipset, o.ipset);
      return script;
    }
    (has6 ? sets.v6 : sets.v4) = sets.either;
  }

  // The hashlimit's name holds the rate: scripts of other rates get budgets of their own.
  const std::string rate =
      o.rate_per_second ? fmt::format(" -m hashlimit --hashlimit-above {0}/sec --hashlimit-burst {0} --hashlimit-name p0fbpf{0}",
                                      *o.rate_per_second)
                        : "";
  std::string lines;
  std::size_t per_family[2] = {0, 0};
  for (const FirewallRule& r : rules) {
    std::vector<std::string> matches;
    for (const std::string& d : o.destinations) {
      if (address_family(d) == r.ip_version) matches.push_back(" -d " + d);
    }
    if (!o.destinations.empty() && matches.empty()) continue;  // none of this family
    const std::string& set = r.ip_version == 6 ? sets.v6 : sets.v4;
    if (sets.any()) {
      if (set.empty()) continue;  // no set of this family: no address of it is in the set
      matches.push_back(" -m set --match-set " + set + " dst");
    }
    if (matches.empty()) matches.push_back("");
    std::string tool = r.ip_version == 6 ? "ip6tables" : "iptables";
    std::string flags = r.direction == Direction::Request ? "--syn" : "--tcp-flags SYN,ACK,FIN,RST SYN,ACK";
    std::string program = o.pinned ? "--object-pinned \"$pin\"" : "--bytecode " + quote(r.bytecode);
    for (const std::string& match : matches) {
      std::string rule = fmt::format("{} -p tcp {}{} -m bpf {} -m comment --comment {}{}", tool, flags, match, program,
                                     quote(comment_text("p0fbpf: " + r.comment)), rate);
      std::string target = o.count_only ? "" : " -j " + o.target;
      fmt::format_to(std::back_inserter(lines), "  \"$1\" {} -m comment --comment {}{}\n", rule,
                     rule_marker(o.chain + " " + rule + target + (o.pinned ? " " + o.pinned->path() : "")), target);
      ++per_family[r.ip_version == 6];
      ++script.rules;
    }
  }
  if (o.pinned && (per_family[0] > 1 || per_family[1] > 1)) {
    script.error = "a pinned program goes in one rule per IP version\n  help: --ipset matches many addresses in one rule";
    return script;
  }

  std::string header = fmt::format(
      "# Written by {}. Installs {} firewall rule(s), {} with iptables and {} with\n"
      "# ip6tables, that {} what these p0f signatures match{}: all of them or none.\n"
      "# Running it again changes nothing. Each rule carries a comment\n"
      "# p0fbpf-rule-HASH by which the script finds it again (under iptables-nft\n"
      "# and iptables-legacy alike) and never touches another rule.\n"
      "# One p0fbpf script runs at a time ({}); Ctrl-C,\n"
      "# TERM or HUP leave the rules of both families as before or as after a\n"
      "# complete run, never half.\n"
      "{}"
      "#   bash {{this script}}           install the rules\n"
      "#   bash {{this script}} --delete  remove exactly these rules{}\n",
      o.generator.empty() ? "p0fbpf" : o.generator, script.rules, per_family[0], per_family[1],
      o.count_only ? "count" : o.target,
      o.rate_per_second ? fmt::format(" beyond {} a second (in all, per family)", *o.rate_per_second) : "",
      shell::kScriptLock, o.pinned ? fmt::format("# They run one eBPF program, pinned at {}\n"
                             "# (p0fbpf pins it when it is not there; P0FBPF=PATH runs another p0fbpf).\n",
                             o.pinned->path())
               : "",
      o.pinned ? ", then the pin" : "");
  auto out = std::back_inserter(script.text);
  script.text = shell::prologue(header);
  fmt::format_to(out, "chain={}\n", quote(o.chain));
  if (o.pinned) {
    fmt::format_to(out, "pin_dir={}\npin=$pin_dir/{}\np0fbpf=${{P0FBPF:-{}}}\n", quote(o.pinned->directory),
                   o.pinned->name, quote(o.pinned->p0fbpf));
    script.text += "# What p0fbpf pin compiles: its options, then the signatures.\npin_arguments=(\n";
    for (const std::string& flag : o.pinned->flags) fmt::format_to(out, "  {}\n", flag);
    script.text += "  --\n";
    for (const std::string& signature : o.pinned->signatures) fmt::format_to(out, "  {}\n", quote(signature));
    script.text += ")\n";
  }
  fmt::format_to(out,
                 "\n"
                 "# The rules: each line calls \"$1\" with the tool and what follows the chain.\n"
                 "rules() {{\n{}}}\n\n",
                 lines.empty() ? "  :\n" : lines);
  script.text += shell::die_function();
  script.text += shell::lock_and_signal_functions();
  fmt::format_to(out, kScriptBody, fmt::arg("max_insns", kXtBpfMaxInstructions),
                 fmt::arg("pin_functions", o.pinned ? kPinFunctions : ""), fmt::arg("main_start", shell::main_start()),
                 fmt::arg("pin_before", o.pinned ? kPinBefore : ""),
                 fmt::arg("change", o.pinned ? "change_rules_and_pin" : "change_rules"));
  script.text += shell::end_of_main();
  return script;
}

}  // namespace p0fbpf
