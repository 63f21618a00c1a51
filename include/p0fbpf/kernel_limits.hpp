// How large an eBPF program p0fbpf loads into the kernel can be: what the
// verifier accepts, measured (bench/limits_bench.cpp). Selections over it
// are refused while compiling, before anything is loaded.
#pragma once

#include <cstddef>

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
  const char* program;     // what is loaded, e.g. "a pinned socket filter"
  const char* reason;      // why larger ones are not, e.g. "the kernel's verifier gives up on larger ones"
};
KernelLimit kernel_limit(KernelProgram kind);

}  // namespace p0fbpf
