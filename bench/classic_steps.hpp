// Instructions a classic program executes on a packet: the cost measure
// of program_bench, and ebpf_bench's explanation of kernel timings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "p0fbpf/bpf_program.hpp"

namespace p0fbpf::bench {

// Runs the program as the kernel would and counts the instructions
// executed; exits 2 if its verdict is not libpcap's bpf_filter's. With
// `visits` (as many as the program's instructions), adds 1 to each
// instruction's count each time it runs.
std::size_t executed(const BpfProgram& program, const std::vector<std::uint8_t>& packet,
                     std::vector<std::size_t>* visits = nullptr);

}  // namespace p0fbpf::bench
