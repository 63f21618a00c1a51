// Output formats for a finished program.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "p0fbpf/bpf_program.hpp"

namespace p0fbpf {

enum class Format {
  Iptables,  // "N,code jt jf k,..." for iptables -m bpf --bytecode and tc
  Assembly,  // tcpdump -d listing, each line with a comment
  C,         // a sock_filter array and its sock_fprog, like tcpdump -dd
  Decimal,   // exactly tcpdump -ddd
  Dot,       // the control-flow graph for Graphviz, blocks labelled with their fields
};

std::optional<Format> parse_format(std::string_view name);

// The text, ending in a newline. `name` prefixes the C format's identifiers
// (NAME_filter, NAME_program), so that several programs can share a file.
std::string emit(const BpfProgram& program, Format format, std::string_view name = "p0fbpf");

}  // namespace p0fbpf
