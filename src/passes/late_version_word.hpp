// Behind a link header, an IPv6 branch's first word checked after its second.
#pragma once

#include "ir/ir.hpp"

namespace p0fbpf {

// In each IPv6 branch behind a link header that tells the version (its
// framing, or link checks in front: Ethernet, Linux cooked) whose IP-level
// checks start with checks of the first word (version,
// traffic class, flow label) followed by checks of the second (payload
// length, next header, hop limit), the second word's checks go first. The
// link header has told the version already, and nearly every IPv6 packet
// passes the first word (a signature's `flow` and `ecn` quirks aside),
// while the payload length and hop limit are what fail most packets and
// tell a selection's signatures apart: the first check is the one that
// decides. Link checks in front stay in front. The conjunction is the same,
// so only which read past a short packet ends the program may change; no
// branch accepts an IPv6 packet shorter than both words, and negated
// programs get their read guards later (guard-reads).
//
// Not for raw IP (also behind --l3-offset), where the program's version
// split has loaded the first word already (codegen.hpp) and its checks cost
// two instructions, nor where no link check precedes the IP header's.
ir::Program late_version_word(const ir::Program& program);

}  // namespace p0fbpf
