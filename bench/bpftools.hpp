// The peer: Cloudflare's bpftools turns a p0f signature into a tcpdump
// expression and lets libpcap compile it (tcpdump -d with link type IPv4 or
// IPv6). This re-expresses its algorithm so that both are measured here.
#pragma once

#include <optional>
#include <string>

#include "p0fbpf/ast.hpp"
#include "p0fbpf/bpf_program.hpp"

namespace p0fbpf::bench {

// The expression bpftools builds for the signature taken as IPv4 (ipv6 =
// false) or IPv6; nullopt for what bpftools refuses (sack, ?N options).
std::optional<std::string> bpftools_expression(const Signature& sig, bool ipv6);

// libpcap's optimized compilation of the expression, as bpftools gets it.
std::optional<BpfProgram> libpcap_compile(const std::string& expression, bool ipv6, int datalink = -1);

}  // namespace p0fbpf::bench
