// What the compiler makes: a classic BPF program, and a note per instruction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pcap/bpf.h>

namespace p0fbpf {

// tcpdump's snapshot length: "accept the whole packet", so the same program
// serves xt_bpf (non-zero = match) and packet sockets.
inline constexpr std::uint32_t kAcceptWholePacket = 262144;

struct BpfProgram {
  std::vector<bpf_insn> instructions;
  std::vector<std::string> comments;  // per instruction: the field it checks
};

}  // namespace p0fbpf
