#include "shell_script.hpp"

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
      ">&2; exit 1; }}; }}; trap incomplete EXIT\n"
      "{}"
      "set -euo pipefail\n\n",
      header);
}

std::string die_function() {
  return "die() {\n"
         "  echo \"$0: $*\" >&2\n"
         "  exit 1\n"
         "}\n\n";
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
      "  [ \"$(id -u)\" = 0 ] || die \"must run as root to change the firewall; nothing was changed\"\n",
      kEndMarker);
}

std::string end_of_main() { return fmt::format("}}\n\nmain \"$@\" {}\n", kEndMarker); }

}  // namespace p0fbpf::shell
