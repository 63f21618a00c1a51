// Code generation: IR branches become one classic BPF program that returns
// `accept_value` when some branch holds and 0 otherwise. A program with a
// gate starts with the gate's code, which returns `outside_gate` for the
// packets it lets by and goes on to the branches for the others.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ir/ir.hpp"
#include "p0fbpf/bpf_program.hpp"

namespace p0fbpf {

// Each branch is generated for the IP header at its own link_offset (see
// link.hpp).
struct CodegenOptions {
  bool negate = false;  // accept what the branches reject
  std::uint32_t accept_value = kAcceptWholePacket;
  // Accept with the first matching branch's signature index plus one
  // instead of accept_value (see CompileOptions::verdict_per_signature).
  bool verdict_per_signature = false;
  // What a packet outside the program's gate (ir::Program::gate) returns.
  std::uint32_t outside_gate = 0;
  // Jumps go past the tests their path already decided (jump_threading.hpp),
  // unless that makes the program longer. False: the program as before
  // threading, for tests that compare the two.
  bool thread_jumps = true;
  // A comment per instruction in BpfProgram::comments (what it checks), for
  // listings. False: no comments (an empty vector), for callers that only
  // load the program (xdp attach, pin): for thousands of signatures they
  // are megabytes at code generation's peak.
  bool comments = true;
  // Chains of compares of one value become search trees
  // (compare_trees.hpp), which run fewer instructions and may be longer:
  // kept only if the program still fits `size_budget` instructions where
  // it fitted without them (0: no bound), and never when it fits nowhere
  // and they make it longer. False: the program without them.
  bool balance_compares = true;
  std::size_t size_budget = 0;
  // A program with a run of branches of each IP version starts by telling
  // the versions apart with `ld [0]; jset #0x20000000` (codegen.cpp's
  // version_split), unless that makes it too large for a `size_budget` of
  // 4096 or less where it fitted without. Only for packets that start with
  // the IP header.
  bool version_split = false;
};

// Takes the IR by value: a caller that moves it in lets its branches go once
// they are walked, before blocks merge and jumps are laid out (a large
// selection's IR is megabytes at code generation's peak).
BpfProgram generate(ir::Program program, const CodegenOptions& options);

}  // namespace p0fbpf
