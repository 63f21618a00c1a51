#include "hooks/shell_script.hpp"

#include <cctype>

#include <fmt/format.h>

namespace p0fbpf::shell {
namespace {

// The last argument of a script's last line; main() refuses to run without
// it, so that a line cut to `main` or `main "$@"` does nothing.
constexpr const char* kEndMarker = "p0fbpf-script-end";

}  // namespace

std::string quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

bool is_name(std::string_view name, std::size_t max) {
  if (name.empty() || name.size() > max || name[0] == '-') return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string prologue(std::string_view header) {
  return fmt::format(
      "#!/usr/bin/env bash\n"
      "# A copy cut short anywhere after this line fails and changes nothing.\n"
      "incomplete() {{ [ -n \"${{started-}}\" ] || {{ echo \"$0: this script is incomplete; nothing was changed\" "
      ">&2; exit 2; }}; }}; trap incomplete EXIT\n"
      "{}"
      "set -euo pipefail\n\n",
      header);
}

std::string die_function() {
  return "die() {\n"
         "  echo \"$0: $*\" >&2\n"
         "  exit 2\n"
         "}\n\n";
}

std::string lock_and_signal_functions() {
  return fmt::format(
      R"SCRIPT(# One p0fbpf script at a time on this host: a second run waits for the
# first (at most {wait} s), so that two runs never add a rule or filter twice.
# The lock is {lock} (flock, from util-linux); `p0fbpf pin`
# takes p0fbpf's own lock, another file, while a script holds this one.
take_lock() {{
  command -v flock >/dev/null || die "flock is not installed (util-linux); nothing was changed"
  mkdir -p "$(dirname {lock})" || die "cannot make the directory of {lock}; nothing was changed"
  exec 9>>{lock} || die "cannot open {lock}; nothing was changed"
  flock -w {wait} 9 ||
    die "another p0fbpf script has held {lock} for {wait} s; nothing was changed (run this again when it has finished)"
}}

# Interrupts (INT: Ctrl-C, TERM, HUP). Before the change begins they stop
# the script, and nothing was changed. The change itself runs in a subshell
# that ignores them, as the tools it runs then do (an ignored signal stays
# ignored across exec): it completes, or fails and undoes what it did. The
# script then says that it was interrupted and exits 128 + the signal's
# number: the system is as before the run or as after a complete one, never
# half changed.
interrupted='' complete=''
stop() {{
  interrupted=$1
  [ -n "$complete" ] || die "interrupted by SIG$1; nothing was changed"
  echo "$0: interrupted by SIG$1 after the $action was complete; it stays complete" >&2
  case $1 in INT) exit 130 ;; TERM) exit 143 ;; *) exit 129 ;; esac
}}
trap 'stop INT' INT
trap 'stop TERM' TERM
trap 'stop HUP' HUP

# Runs the function "$@" to its end, whatever signal comes.
change() {{
  local status
  trap 'interrupted=INT' INT
  trap 'interrupted=TERM' TERM
  trap 'interrupted=HUP' HUP
  set +e
  (
    trap '' INT TERM HUP
    set -e
    "$@"
  )
  status=$?
  set -e
  if [ "$status" -ne 0 ]; then
    # Killed before it ignored the signal, it had not changed anything yet;
    # a failure undid its part and said so.
    [ "$status" -le 128 ] || [ -z "$interrupted" ] || die "interrupted by SIG$interrupted; nothing was changed"
    exit "$status"
  fi
  complete=yes
  [ -z "$interrupted" ] || stop "$interrupted"
  trap 'stop INT' INT
  trap 'stop TERM' TERM
  trap 'stop HUP' HUP
}}

)SCRIPT",
      fmt::arg("lock", kScriptLock), fmt::arg("wait", kLockWaitSeconds));
}

std::string main_start() {
  return fmt::format(
      "main() {{\n"
      "  started=yes\n"
      "  if [ $# -eq 0 ] || [ \"${{!#}}\" != {} ]; then die \"this script is incomplete; nothing was changed\"; fi\n"
      "  set -- \"${{@:1:$#-1}}\"\n"
      "  action=install\n"
      "  case \"${{1-}}\" in\n"
      "    \"\") ;;\n"
      "    --delete) action=delete ;;\n"
      "    *) echo \"usage: $0 [--delete]\" >&2; exit 2 ;;\n"
      "  esac\n"
      "  [ \"$(id -u)\" = 0 ] || die \"must run as root to change the firewall; nothing was changed\"\n"
      "  take_lock\n",
      kEndMarker);
}

std::string end_of_main() { return fmt::format("}}\n\nmain \"$@\" {}\n", kEndMarker); }

}  // namespace p0fbpf::shell
