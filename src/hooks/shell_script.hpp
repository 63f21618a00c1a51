// What every script p0fbpf writes has in common (private to the library):
// quoting, names that are safe to pass, and the frame that makes a script
// all or nothing: a copy cut short anywhere after its first lines fails and
// changes nothing.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace p0fbpf::shell {

// Single-quoted for the shell.
std::string quote(std::string_view text);

// A name iptables, ipset or ip take that cannot be read as an option: at
// most `max` letters, digits, '-', '_' and '.', not starting with '-'.
bool is_name(std::string_view name, std::size_t max);

// The first lines: the shebang, the trap that fails a script that never
// reached main, `header` (comment lines, each ending in a newline), and
// `set -euo pipefail`.
std::string prologue(std::string_view header);

// die(), for the body.
std::string die_function();

// The lock and the signal handling every script shares: take_lock (one
// p0fbpf script at a time on the host, waiting at most kLockWaitSeconds)
// and change (runs a function to its end whatever INT, TERM or HUP comes,
// so that it finishes or rolls itself back). Goes after die_function().
std::string lock_and_signal_functions();

// The file scripts lock: not p0fbpf's own lock (/run/lock/p0fbpf.lock),
// which `p0fbpf pin` takes while a script holds this one.
inline constexpr const char* kScriptLock = "/run/lock/p0fbpf-script.lock";
inline constexpr int kLockWaitSeconds = 60;

// The first lines of main(): marks the script as started, checks that its
// last line was complete, sets `action` to install or delete from its
// arguments ([--delete]), checks for root and takes the lock. The body of
// main follows, then end_of_main().
std::string main_start();
std::string end_of_main();

}  // namespace p0fbpf::shell
