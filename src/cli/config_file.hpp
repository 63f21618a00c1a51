// --config FILE on every command: options from a file, read by CLI11's own
// TOML/INI reader, with the command line's long option names (without --):
//
//   label = "Linux"
//   count-only = true
//   device = "eth0"          # a positional, by its name in --help
//   signature = ["4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0"]
//
// The file's names are the options of the command it is given to
// (p0fbpf xdp attach --config FILE: xdp attach's). What the command line
// gives wins over the file; a name the command does not have is an error.
// The file may come from anyone: it is read only up to kMaxConfigBytes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace p0fbpf::cli {

inline constexpr std::size_t kMaxConfigBytes = 64 * 1024;

// Adds --config FILE to `root` and to every command under it. Call it once
// every command is added.
void add_config_option(CLI::App& root);

// The arguments with a --config FILE given after a command's name moved in
// front of the commands' names, where CLI11 (2.1) reads config files: the
// file still applies to the command it was given to. Nothing moves after a
// "--", which ends the options.
std::vector<std::string> config_first(int argc, const char* const* argv);

}  // namespace p0fbpf::cli
