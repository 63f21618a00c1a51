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
// `offset_first`: the data offset is checked before any option byte is
// read, as an alternative OR-ed with others needs: libpcap's program ends
// at a read past the packet, which would end the other alternatives too
// (bpftools' own order, for a rule of its own, reads the MSS, window and
// scale options first, and loses nothing by it). A signature with the
// `bad` quirk has no data offset check to put first.
std::optional<std::string> bpftools_expression(const Signature& sig, bool ipv6, bool offset_first = false);

// libpcap's optimized compilation of the expression, as bpftools gets it.
std::optional<BpfProgram> libpcap_compile(const std::string& expression, bool ipv6, int datalink = -1);

}  // namespace p0fbpf::bench
