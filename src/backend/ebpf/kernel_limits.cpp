#include "p0fbpf/kernel_limits.hpp"

namespace p0fbpf {

// XDP: each signature has its own branches (its own verdict), about 100
// classic instructions, 300 in eBPF; the verifier walks about 8 eBPF
// instructions per classic one and gives up at 1,000,000 (1,000 distinct
// signatures of p0f.fp: 97,350 classic instructions, 817,533 walked).
//
// Socket filter: the signatures share branches, 15 to 40 classic
// instructions each; the verifier walks about 2 eBPF instructions per
// classic one, but the kernel rewrites each LD_ABS/LD_IND into 7
// instructions one at a time, moving the whole program each time, which
// makes loading quadratic: 1,000 signatures of p0f.fp (14,904 classic
// instructions) load in 1.6 s, 2,000 (28,130) in 15 s, 1,000 of
// limits_bench's (about 35,000) in 10 s. The limit lets 1,000 diverse
// signatures load; larger ones would take minutes.
KernelLimit kernel_limit(KernelProgram kind) {
  switch (kind) {
    case KernelProgram::Xdp:
      return {100'000, 1'000, "an XDP program with per-signature counters",
              "the kernel's verifier gives up on larger ones"};
    case KernelProgram::SocketFilter:
      return {40'000, 1'000, "a pinned socket filter", "the kernel takes many seconds to load larger ones"};
  }
  return {0, 0, "", ""};
}

}  // namespace p0fbpf
