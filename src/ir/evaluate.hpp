// The IR's own verdict on a packet, without code generation: what the
// program generate() makes of it would return. A test can check that a pass
// keeps every verdict, and compare the generated BPF against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "ir/ir.hpp"

namespace p0fbpf::ir {

struct Verdict {
  bool accepted = false;               // the program returns non-zero
  std::optional<std::size_t> branch;   // the first branch that held, if any
  // A read past the end of the frame (or a division by zero) ended the
  // program with 0, as it does classic BPF, before any branch held.
  bool ended = false;
  // No gate branch held (Program::gate): the program returns the gate's
  // verdict, CodegenOptions::outside_gate, and `accepted` is false. With
  // `ended` too, the gate read past the end (an unguarded gate, whose
  // verdict is 0).
  bool outside_gate = false;
};

// The branches in order, as classic BPF runs them: the first that holds
// decides, a read past the end ends the whole program with 0, each branch's
// reads are `link_offset` bytes into `frame`. A branch with framing runs it
// first and reads the datagram behind it (link.hpp resolve_link_base), and
// with `negate` a frame too short for the framing fails the branch.
// `negate`: accepted when no branch holds (CodegenOptions::negate). A
// program with a gate runs it first, its framing guarded as with `negate`;
// then the program's framing (Program::framing), whose assignments every
// branch reads.
Verdict evaluate(const Program& program, std::span<const std::uint8_t> frame, bool negate = false);

}  // namespace p0fbpf::ir
