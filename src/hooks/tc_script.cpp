#include "p0fbpf/tc_script.hpp"

#include <fmt/format.h>

#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/script.hpp"
#include "hooks/shell_script.hpp"

namespace p0fbpf {
namespace {

constexpr std::size_t kMaxDeviceName = 15;  // IFNAMSIZ - 1
// The handle of a p0fbpf script's filter (with its pref, what marks it).
constexpr const char* kHandle = "0xf0bf";
// Where scripts record that p0fbpf added a device's clsact qdisc.
constexpr const char* kRecordDir = "/run/p0fbpf";

// An action word: what tc's action grammar uses (names, numbers, device
// names, classids), nothing a shell would expand.
bool is_action_word(std::string_view word) {
  if (word.empty() || word.size() > 64) return false;
  for (char c : word) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string_view("-_.:/").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t end = text.find(' ', at);
    if (end == std::string_view::npos) end = text.size();
    if (end > at) out.emplace_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// The body after the settings.
constexpr const char* kBody = R"SCRIPT(# Whether the device has a clsact qdisc.
has_clsact() {{
  local qdiscs
  qdiscs=$(tc qdisc show dev "$dev") || die "tc cannot list the qdiscs of $dev; nothing was changed"
  [[ $qdiscs == *"qdisc clsact "* ]]
}}

# The filters at $pref on the hook: ours=yes when this script's is there
# (pref $pref, handle $handle, kind bpf, this program), foreign= the first
# other one. tc prints a line per filter and one for the pref itself.
ours='' foreign=''
read_filters() {{
  local listing line
  listing=$(tc filter show dev "$dev" "$direction") ||
    die "tc cannot list the filters of $dev $direction; nothing was changed"
  while IFS= read -r line; do
    [[ $line == "filter "*" pref $pref "* ]] || continue
    line=${{line%% }}
    [[ ! $line =~ ^filter\ protocol\ [^\ ]+\ pref\ [0-9]+\ [^\ ]+\ chain\ [0-9]+$ ]] || continue
    if [[ "$line " == *" pref $pref bpf chain 0 handle $handle "* && $line == *" bytecode '$program'"* ]]; then
      ours=yes
    elif [ -z "$foreign" ]; then
      foreign=${{line//[^[:print:]]/?}}
    fi
  done <<<"$listing"
}}

# Whether this script (or another p0fbpf script) added the device's clsact
# qdisc is in a record under {record_dir}, named by the network namespace and
# the device's ifindex (what a rename keeps), written before the qdisc is
# added: a run killed before its filter was in leaves a qdisc that a later
# run knows as p0fbpf's, and its --delete removes. A record without a qdisc
# is stale and is written again.
record=
find_record() {{
  local netns ifindex
  netns=$(readlink /proc/self/ns/net) || die "cannot read this process's network namespace; nothing was changed"
  netns=${{netns//[^0-9]/}}
  ifindex=$(cat "/sys/class/net/$dev/ifindex") || die "cannot read the ifindex of $dev; nothing was changed"
  record={record_dir}/clsact-net$netns-if$ifindex
}}

# Removes the clsact qdisc if p0fbpf added it and no filter is left on it.
remove_our_clsact() {{
  [ -e "$record" ] || return 0
  if has_clsact; then
    # Only a listing that worked may say that no filter is left.
    local ingress egress
    ingress=$(tc filter show dev "$dev" ingress) || return 1
    egress=$(tc filter show dev "$dev" egress) || return 1
    [ -z "$ingress$egress" ] || return 0
    tc qdisc del dev "$dev" clsact || return 1
  fi
  rm -f "$record"
}}

# Adds the filter, and clsact first when the device has none; a failure
# takes out what this run added.
install_filter() {{
  if ! has_clsact; then
    if ! {{ mkdir -p {record_dir} && echo "clsact on $dev, added by a p0fbpf script" >"$record.new" &&
      mv -f "$record.new" "$record"; }}; then
      die "cannot write $record; nothing was changed"
    fi
    if ! tc qdisc add dev "$dev" clsact; then
      rm -f "$record"
      die "tc cannot add the clsact qdisc to $dev; nothing was changed"
    fi
  fi
  if ! tc filter add dev "$dev" "$direction" protocol all pref "$pref" handle "$handle" \
    bpf bytecode "$program" action "${{tc_action[@]}}"; then
    remove_our_clsact || true
    die "tc refused the filter; nothing was changed"
  fi
}}

# Deletes this script's filter (its pref and handle), never another, then
# clsact if p0fbpf added it and nothing uses it.
delete_filter() {{
  if [ -n "$ours" ]; then
    tc filter del dev "$dev" "$direction" protocol all pref "$pref" handle "$handle" bpf ||
      die "tc cannot delete the filter; nothing was changed"
  fi
  remove_our_clsact || die "the filter is deleted, but not the clsact qdisc that p0fbpf added to $dev"
}}

{main_start}  command -v tc >/dev/null || die "tc is not installed (iproute2); nothing was changed"
  [ -e "/sys/class/net/$dev" ] || die "there is no device $dev; nothing was changed"
  local type
  type=$(cat "/sys/class/net/$dev/type")
  case "$type" in
    1) program=$ethernet_program ;;
    65534 | 768 | 769 | 776 | 778 | 823) program=$ip_program ;;
    *) die "device $dev has link type $type: p0fbpf's programs read Ethernet (1) or IP (65534: tun, WireGuard; 768, 769, 776, 778, 823: IP tunnels); nothing was changed" ;;
  esac
  find_record
  read_filters

  if [ "$action" = install ]; then
    [ -z "$foreign" ] ||
      die "a filter that is not this script's holds pref $pref on $dev $direction ($foreign); nothing was changed (remove it, or write the script with another --pref)"
    [ -z "$ours" ] || return 0
    change install_filter
    return 0
  fi
  [ -z "$foreign" ] || echo "$0: leaving the filter at pref $pref on $dev $direction that is not this script's ($foreign)" >&2
  change delete_filter
)SCRIPT";

}  // namespace

std::optional<std::string> check_tc_script_options(const TcScriptOptions& o) {
  if (o.device.empty()) return std::string("--hook tc needs --dev DEVICE");
  if (!shell::is_name(o.device, kMaxDeviceName)) return fmt::format("--dev {} is not a device name", quoted(o.device));
  if (o.direction != "ingress" && o.direction != "egress") {
    return fmt::format("--direction {} is neither ingress nor egress", quoted(o.direction));
  }
  std::vector<std::string> action = words(o.action);
  if (action.empty()) return std::string("--target: no tc action given");
  for (const std::string& word : action) {
    if (!is_action_word(word)) return fmt::format("--target: {} is not a tc action word", quoted(word));
  }
  if (o.priority == 0 || o.priority > 0xffff) return fmt::format("--pref {} is not in 1..65535", o.priority);
  return std::nullopt;
}

std::string tc_script(const std::string& ethernet_bytecode, const std::string& ip_bytecode,
                      const TcScriptOptions& o) {
  std::string header = fmt::format(
      "# Written by {}. Puts one tc filter on {} {} that runs `{}` on\n"
      "# what these p0f signatures match: {}\n"
      "# Running it again changes nothing. The filter is this script's when it\n"
      "# has pref {}, handle {}, kind bpf and this program; the script refuses to\n"
      "# install over another filter at that pref and --delete removes only its\n"
      "# own. Whether p0fbpf added the clsact qdisc is recorded in\n"
      "# {}/clsact-net<netns inode>-if<ifindex> before the qdisc is added, so\n"
      "# that a run killed between the two leaves a qdisc a later run knows.\n"
      "# One p0fbpf script runs at a time ({}); Ctrl-C, TERM or\n"
      "# HUP leave the device as before or as after a complete run.\n"
      "#   bash {{this script}}           add the filter (and clsact, if {} has none)\n"
      "#   bash {{this script}} --delete  remove it (and clsact, if p0fbpf added it and nothing uses it)\n",
      o.generator.empty() ? "p0fbpf" : o.generator, o.device, o.direction, o.action,
      comment_text(o.description), o.priority, kHandle, kRecordDir, shell::kScriptLock, o.device);
  std::string out = shell::prologue(header);
  std::string action_words;
  for (const std::string& word : words(o.action)) {
    // Appended in two steps: `" " + quote(...)` trips GCC 12's -Wrestrict
    // at -O3 (a false positive that -Werror would make a failed build).
    action_words += ' ';
    action_words += shell::quote(word);
  }
  fmt::format_to(std::back_inserter(out),
                 "dev={}\ndirection={}\npref={}\nhandle={}\ntc_action=({} )\n"
                 "# The program for a device with an Ethernet header, and for one without.\n"
                 "ethernet_program={}\nip_program={}\nprogram=\n\n",
                 shell::quote(o.device), o.direction, o.priority, kHandle, action_words, shell::quote(ethernet_bytecode),
                 shell::quote(ip_bytecode));
  out += shell::die_function();
  out += shell::lock_and_signal_functions();
  fmt::format_to(std::back_inserter(out), kBody, fmt::arg("main_start", shell::main_start()),
                 fmt::arg("record_dir", kRecordDir));
  out += shell::end_of_main();
  return out;
}

}  // namespace p0fbpf
