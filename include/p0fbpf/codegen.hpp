// Code generation: IR branches become one classic BPF program that returns
// `accept_value` when some branch holds and 0 otherwise.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <pcap/bpf.h>

#include "p0fbpf/ir.hpp"

namespace p0fbpf {

// tcpdump's snapshot length: "accept the whole packet", so the same program
// serves xt_bpf (non-zero = match) and packet sockets.
inline constexpr std::uint32_t kAcceptWholePacket = 262144;

// Each branch is generated for the IP header at its own link_offset (see
// link.hpp).
struct CodegenOptions {
  bool negate = false;            // accept what the branches reject
  std::uint32_t accept_value = kAcceptWholePacket;
  // Accept with the first matching branch's signature index plus one
  // instead of accept_value, so that a caller (the XDP program's counters)
  // can tell which signature matched. Branches of different signatures are
  // then never shared. Not with `negate`.
  bool verdict_per_signature = false;
};

struct BpfProgram {
  std::vector<bpf_insn> instructions;
  std::vector<std::string> comments;  // per instruction: the field it checks
};

BpfProgram generate(const ir::Program& program, const CodegenOptions& options);

}  // namespace p0fbpf
