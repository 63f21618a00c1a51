// The eBPF backend: a classic BPF program, as codegen makes it, translated
// instruction by instruction into eBPF for a socket filter or an XDP
// program, with the verdict of the classic program on every packet.
//
// This header names neither <pcap/bpf.h> nor <linux/bpf.h>: both define
// `struct bpf_insn`, the classic one and the eBPF one, so no file can
// include both.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p0fbpf {

struct BpfProgram;

namespace ebpf {

// One eBPF instruction, laid out as the kernel's struct bpf_insn (checked
// where that is included, src/backend/ebpf/loader.cpp).
struct Instruction {
  std::uint8_t code = 0;
  std::uint8_t dst : 4 = 0;
  std::uint8_t src : 4 = 0;
  std::int16_t offset = 0;
  std::int32_t imm = 0;
};

// The opcode parts eBPF has beyond classic BPF's (whose parts keep their
// values in eBPF), and the kernel ABI's values the translation needs; the
// loader checks each against <linux/bpf.h>.
namespace isa {
inline constexpr std::uint8_t kJmp32 = 0x06;  // classic BPF_RET's value
inline constexpr std::uint8_t kAlu64 = 0x07;  // classic BPF_MISC's value
inline constexpr std::uint8_t kDoubleWord = 0x18;
inline constexpr std::uint8_t kMov = 0xb0;
inline constexpr std::uint8_t kEnd = 0xd0;
inline constexpr std::uint8_t kToBigEndian = 0x08;
inline constexpr std::uint8_t kJne = 0x50;
inline constexpr std::uint8_t kJlt = 0xa0;
inline constexpr std::uint8_t kJle = 0xb0;
inline constexpr std::uint8_t kExit = 0x90;
inline constexpr std::uint8_t kCall = 0x80;
inline constexpr std::uint8_t kPseudoMapFd = 1;   // src of a 64-bit immediate load: a map's descriptor
inline constexpr std::int32_t kMapLookupElem = 1;  // the helper bpf_map_lookup_elem
inline constexpr int kXdpDrop = 1;
inline constexpr int kXdpPass = 2;
inline constexpr std::int16_t kXdpDataOffset = 0;     // struct xdp_md's data
inline constexpr std::int16_t kXdpDataEndOffset = 4;  // struct xdp_md's data_end
inline constexpr std::int16_t kSkbLenOffset = 0;      // struct __sk_buff's len
// The verifier proves packet reads only within this many bytes of the
// packet's start (MAX_PACKET_OFF); no XDP buffer is longer.
inline constexpr std::uint32_t kMaxPacketOffset = 0xffff;
}  // namespace isa

enum class Target {
  // Context: the socket buffer. Loads stay LD_ABS/LD_IND, which give up
  // with 0 past the end as classic loads do; returns the classic return
  // value. What iptables -m bpf --object-pinned and SO_ATTACH_BPF run.
  SocketFilter,
  // Context: xdp_md. The classic program sees the bytes from data to
  // data_end; every load is checked against data_end. Returns XDP_DROP
  // where the classic program returns non-zero, XDP_PASS otherwise.
  Xdp,
};

struct Program {
  Target target = Target::SocketFilter;
  std::vector<Instruction> instructions;
};

// What an XDP program counts (the program `p0fbpf xdp attach` loads): in a
// per-CPU array of 64-bit counters, slot 0 counts the packets seen and
// slot v the packets the classic program returned v for (past the last
// slot: the last). The classic program's non-zero verdicts drop the packet
// unless count_only. With not_syn_verdict (the classic program's verdict
// for what is not a TCP SYN of its direction, CompileOptions::syn_gate),
// that verdict counts in slot 0 only and passes; every other verdict also
// counts in slot `slots` (the SYNs seen; the map then has slots + 1).
struct XdpCounters {
  int map_fd = -1;
  std::uint32_t slots = 2;
  bool count_only = false;
  std::optional<std::uint32_t> not_syn_verdict;
};

// Throws std::invalid_argument for what no classic filter machine would run
// (an unknown opcode, a jump out of the program or backward, a scratch
// word beyond 16). Jumps of any length: far ones go through gotol
// (BPF_JMP32 | BPF_JA with a 32-bit offset, Linux 6.4), see long_jumps.hpp.
Program translate(const BpfProgram& classic, Target target,
                  const std::optional<XdpCounters>& counters = std::nullopt);

}  // namespace ebpf
}  // namespace p0fbpf
