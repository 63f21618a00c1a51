// How large an eBPF program p0fbpf loads into the kernel can be: what the
// verifier accepts, measured (bench/limits_bench.cpp). Selections over it
// are refused while compiling, before anything is loaded.
#pragma once

#include <cstddef>

#include "p0fbpf/compiler.hpp"

namespace p0fbpf {

enum class KernelProgram {
  Xdp,           // xdp attach: per-signature verdicts and counters
  SocketFilter,  // pin: the program iptables -m bpf --object-pinned runs
};

// The largest classic program (in instructions) that is translated and
// loaded as `kind`, and about how many signatures that holds.
struct KernelLimit {
  std::size_t classic_instructions;
  std::size_t signatures;  // about, for p0f.fp's signatures
};
KernelLimit kernel_limit(KernelProgram kind);

// Sets options.refuse_over (and its diagnostic) to the limit of `kind`.
void refuse_over_kernel_limit(CompileOptions& options, KernelProgram kind);

}  // namespace p0fbpf
