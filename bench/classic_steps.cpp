#include "classic_steps.hpp"

#include <pcap/pcap.h>

#include <cstdlib>

#include <fmt/format.h>

namespace p0fbpf::bench {

std::size_t executed(const BpfProgram& program, const std::vector<std::uint8_t>& packet,
                     std::vector<std::size_t>* visits) {
  std::uint32_t a = 0, x = 0, mem[16] = {};
  std::size_t count = 0, pc = 0;
  auto load = [&](std::uint32_t k, std::uint32_t size, bool& ok) -> std::uint32_t {
    if (k + size > packet.size() || k + size < k) {
      ok = false;
      return 0;
    }
    std::uint32_t v = 0;
    for (std::uint32_t i = 0; i < size; ++i) v = (v << 8) | packet[k + i];
    return v;
  };
  std::uint32_t verdict = 0;
  while (pc < program.instructions.size()) {
    if (visits) ++(*visits)[pc];
    const bpf_insn& i = program.instructions[pc++];
    ++count;
    bool ok = true;
    std::uint32_t size = BPF_SIZE(i.code) == BPF_W ? 4 : BPF_SIZE(i.code) == BPF_H ? 2 : 1;
    std::uint32_t src = BPF_SRC(i.code) == BPF_X ? x : i.k;
    switch (BPF_CLASS(i.code)) {
      case BPF_LD:
        switch (BPF_MODE(i.code)) {
          case BPF_ABS: a = load(i.k, size, ok); break;
          case BPF_IND: a = load(x + i.k, size, ok); break;
          case BPF_IMM: a = i.k; break;
          case BPF_MEM: a = mem[i.k & 15]; break;
          case BPF_LEN: a = static_cast<std::uint32_t>(packet.size()); break;
        }
        break;
      case BPF_LDX:
        switch (BPF_MODE(i.code)) {
          case BPF_IMM: x = i.k; break;
          case BPF_MEM: x = mem[i.k & 15]; break;
          case BPF_LEN: x = static_cast<std::uint32_t>(packet.size()); break;
          case BPF_MSH: x = (load(i.k, 1, ok) & 0xf) * 4; break;
        }
        break;
      case BPF_ST: mem[i.k & 15] = a; break;
      case BPF_STX: mem[i.k & 15] = x; break;
      case BPF_ALU:
        switch (BPF_OP(i.code)) {
          case BPF_ADD: a += src; break;
          case BPF_SUB: a -= src; break;
          case BPF_MUL: a *= src; break;
          case BPF_DIV: if (!src) ok = false; else a /= src; break;
          case BPF_MOD: if (!src) ok = false; else a %= src; break;
          case BPF_AND: a &= src; break;
          case BPF_OR: a |= src; break;
          case BPF_XOR: a ^= src; break;
          case BPF_LSH: a <<= src; break;
          case BPF_RSH: a >>= src; break;
          case BPF_NEG: a = -a; break;
        }
        break;
      case BPF_JMP: {
        bool taken = false;
        switch (BPF_OP(i.code)) {
          case BPF_JA: pc += i.k; continue;
          case BPF_JEQ: taken = a == src; break;
          case BPF_JGT: taken = a > src; break;
          case BPF_JGE: taken = a >= src; break;
          case BPF_JSET: taken = (a & src) != 0; break;
        }
        pc += taken ? i.jt : i.jf;
        continue;
      }
      case BPF_RET: verdict = BPF_RVAL(i.code) == BPF_A ? a : i.k; pc = program.instructions.size(); break;
      case BPF_MISC: if (BPF_MISCOP(i.code) == BPF_TAX) x = a; else a = x; break;
    }
    if (!ok) {
      verdict = 0;
      break;
    }
  }
  auto size = static_cast<unsigned>(packet.size());
  if ((verdict != 0) != (bpf_filter(program.instructions.data(), packet.data(), size, size) != 0)) {
    fmt::print(stderr, "interpreter and libpcap disagree\n");
    std::exit(2);
  }
  return count;
}

}  // namespace p0fbpf::bench
