#include "p0fbpf/tc_script.hpp"

#include <fmt/format.h>

#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/script.hpp"
#include "shell_script.hpp"

namespace p0fbpf {
namespace {

constexpr std::size_t kMaxDeviceName = 15;  // IFNAMSIZ - 1

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

// The body after the settings. The device's type decides the program:
// ARPHRD_ETHER has a MAC header in front of what cls_bpf sees; ARPHRD_NONE
// (tun, WireGuard) and the IP tunnels have none.
constexpr const char* kBody = R"SCRIPT({main_start}  command -v tc >/dev/null || die "tc is not installed (iproute2); nothing was changed"
  [ -e "/sys/class/net/$dev" ] || die "there is no device $dev; nothing was changed"
  local type program
  type=$(cat "/sys/class/net/$dev/type")
  case "$type" in
    1) program=$ethernet_program ;;
    65534 | 768 | 769 | 776 | 778 | 823) program=$ip_program ;;
    *) die "device $dev has link type $type: p0fbpf's programs read Ethernet (1) or IP (65534: tun, WireGuard; 768, 769, 776, 778, 823: IP tunnels); nothing was changed" ;;
  esac
  # The filter's handle says whether this script added the clsact qdisc: 2
  # if it did, 1 if the qdisc was there. It lives and dies with the qdisc.
  local current qdiscs handle=1
  current=$(tc filter show dev "$dev" "$direction" pref "$pref" 2>/dev/null || true)
  [[ $current != *" handle 0x2 "* ]] || handle=2

  if [ "$action" = install ]; then
    if [[ $current == *"bytecode '$program'"* ]]; then return 0; fi
    local operation=add
    [ -z "$current" ] || operation=replace
    qdiscs=$(tc qdisc show dev "$dev")
    if [[ $qdiscs != *"qdisc clsact "* ]]; then
      tc qdisc add dev "$dev" clsact || die "tc cannot add the clsact qdisc to $dev; nothing was changed"
      handle=2
    fi
    if ! tc filter "$operation" dev "$dev" "$direction" protocol all pref "$pref" handle "$handle" \
      bpf bytecode "$program" action "${{tc_action[@]}}"; then
      [ -n "$current" ] || [ "$handle" = 1 ] || tc qdisc del dev "$dev" clsact || true
      die "tc refused the filter; nothing was changed"
    fi
    return 0
  fi

  [ -n "$current" ] || return 0
  [[ $current == *"bytecode '$program'"* ]] ||
    die "the filter with pref $pref on $dev $direction is not this script's; nothing was deleted"
  tc filter del dev "$dev" "$direction" pref "$pref"
  # The qdisc goes if this script added it and nothing else uses it.
  if [ "$handle" = 2 ] && [ -z "$(tc filter show dev "$dev" ingress)$(tc filter show dev "$dev" egress)" ]; then
    tc qdisc del dev "$dev" clsact
  fi
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
      "# Running it again changes nothing.\n"
      "#   bash {{this script}}           add the filter (and clsact, if {} has none)\n"
      "#   bash {{this script}} --delete  remove it (and clsact, if this script added it)\n",
      o.generator.empty() ? "p0fbpf" : o.generator, o.device, o.direction, o.action,
      comment_text(o.description), o.device);
  std::string out = shell::prologue(header);
  std::string action_words;
  for (const std::string& word : words(o.action)) {
    // Appended in two steps: `" " + quote(...)` trips GCC 12's -Wrestrict
    // at -O3 (a false positive that -Werror would make a failed build).
    action_words += ' ';
    action_words += shell::quote(word);
  }
  fmt::format_to(std::back_inserter(out),
                 "dev={}\ndirection={}\npref={}\ntc_action=({} )\n"
                 "# The program for a device with an Ethernet header, and for one without.\n"
                 "ethernet_program={}\nip_program={}\n\n",
                 shell::quote(o.device), o.direction, o.priority, action_words, shell::quote(ethernet_bytecode),
                 shell::quote(ip_bytecode));
  out += shell::die_function();
  fmt::format_to(std::back_inserter(out), kBody, fmt::arg("main_start", shell::main_start()));
  out += shell::end_of_main();
  return out;
}

}  // namespace p0fbpf
