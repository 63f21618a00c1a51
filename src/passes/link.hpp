// Link layers: where the IP header starts in what the filter sees, and what
// the link-layer header must say first. A pass over IR programs.
#pragma once

#include <cstdint>
#include <optional>

#include "ir/ir.hpp"
#include "p0fbpf/types.hpp"

namespace p0fbpf {

// Each branch with the link checks it needs. Where the IP header is at a
// fixed offset, the checks go in front and link_offset says where; for
// Ethernet, whose VLAN tag is optional, they go into Branch::framing, which
// works out the IP header's position once (see resolve_link_base).
ir::Program apply_link(const ir::Program& program, const LinkLayer& link);

// Branches with framing become plain ones: the framing first, then every
// read of the IP datagram indexed by ir::link_shift_variable(). The last pass
// before code generation, once the passes that expect IP-relative reads are
// done. `negate`: the program is negated, so a frame too short for the
// framing's reads must fail the branch rather than end the program.
ir::Program resolve_link_base(const ir::Program& program, bool negate);

// Instead of resolve_link_base: the program works out once where the IP
// header lies (Program::framing: behind one 802.1Q tag or none), and each
// branch checks the EtherType there and reads the datagram through
// ir::link_shift_variable(). Code generation keeps the shift in X from
// branch to branch, and jump threading goes past reads through it as past
// reads at fixed offsets: about the size of the program on raw IP, where
// copy_per_tag doubles it. A frame too short for the framing's read ends
// the program with 0; a negated program behind Ethernet has the SYN gate
// in front, whose reads cover it. nullopt unless every branch has the
// framing of Ethernet, and for a single branch, whose own costs an
// untagged frame one compare fewer.
std::optional<ir::Program> frame_once(const ir::Program& program);

// Instead of resolve_link_base: each branch with framing becomes two with the
// IP header at a fixed offset, one for an untagged frame (the EtherType at
// 12) and one behind an 802.1Q tag (the tag at 12, the EtherType at 16); the
// untagged copies first, in order, then the tagged ones. A frame is one or
// the other, so every frame meets the same first branch that accepts it.
// Every read is then at a fixed offset, as jump threading needs to go past
// what a path decided; the program is up to twice as large. Not for negated
// programs, whose read guards count from the IP header, and so cannot
// guard the link header's reads.
ir::Program copy_per_tag(const ir::Program& program);

}  // namespace p0fbpf
