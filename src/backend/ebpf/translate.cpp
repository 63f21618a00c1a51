#include "backend/ebpf/translate.hpp"

#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "backend/ebpf/long_jumps.hpp"
#include "base/release.hpp"
#include "p0fbpf/bpf_program.hpp"

namespace p0fbpf::ebpf {
namespace {

// The registers of the classic machine and of the translation. R6 holds the
// context because LD_ABS and LD_IND read the socket buffer from there; they
// also overwrite R0-R5, so only what lives in R0 (A) or R6-R9 survives them.
//
// An XDP load takes data and data_end from the context afresh: a packet
// pointer kept in a register would carry the range proven so far, which
// differs on every path that reaches a later instruction, and the verifier
// could then prune no path of a large program.
constexpr std::uint8_t kA = 0;  // also the return value
constexpr std::uint8_t kContextAtEntry = 1;
constexpr std::uint8_t kIndex = 1;    // XDP: X, bounded
constexpr std::uint8_t kPointer = 2;  // XDP: data, then the end of the bytes read
constexpr std::uint8_t kDataEnd = 3;  // XDP
constexpr std::uint8_t kContext = 6;
constexpr std::uint8_t kX = 7;
constexpr std::uint8_t kVerdict = 8;  // XDP counters: the classic verdict across the helper calls
constexpr std::uint8_t kLength = 9;   // XDP: data_end - data, if the program asks for it
constexpr std::uint8_t kSavedA = 9;   // socket filter: A across an LD_ABS
constexpr std::uint8_t kFrame = 10;

constexpr int kScratchWords = 16;  // BPF_MEMWORDS
constexpr std::int16_t kCounterKey = -4 * kScratchWords - 8;  // below the scratch words
constexpr std::uint32_t kMaxLoadOffset = std::numeric_limits<std::int32_t>::max();

Instruction make(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t offset, std::int32_t imm) {
  Instruction insn;
  insn.code = code;
  insn.dst = dst & 0xf;
  insn.src = src & 0xf;
  insn.offset = offset;
  insn.imm = imm;
  return insn;
}

std::int32_t bits(std::uint32_t k) { return static_cast<std::int32_t>(k); }

// Scratch word k on the stack.
std::int16_t slot(std::uint32_t k) { return static_cast<std::int16_t>(-4 * (static_cast<int>(k) + 1)); }

std::uint32_t load_size(std::uint16_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_W: return 4;
    case BPF_H: return 2;
    case BPF_B: return 1;
  }
  return 0;
}

// Loads whose offset lies beyond anything the target can read, and
// constant divisions by zero: classic BPF gives up on every packet there,
// and the translation jumps straight to the end.
bool always_gives_up(const bpf_insn& insn, Target target) {
  std::uint16_t cls = BPF_CLASS(insn.code);
  std::uint16_t mode = BPF_MODE(insn.code);
  bool packet = (cls == BPF_LD && (mode == BPF_ABS || mode == BPF_IND)) || (cls == BPF_LDX && mode == BPF_MSH);
  if (packet && target == Target::SocketFilter) return insn.k > kMaxLoadOffset;
  if (packet) return std::uint64_t{insn.k} + load_size(insn.code) > isa::kMaxPacketOffset;
  bool division = cls == BPF_ALU && (BPF_OP(insn.code) == BPF_DIV || BPF_OP(insn.code) == BPF_MOD);
  return division && BPF_SRC(insn.code) == BPF_K && insn.k == 0;
}

// What the translation must know of the whole classic program first.
struct Flow {
  std::vector<bool> reachable;
  std::uint32_t unwritten_reads = 0;  // scratch words some path reads before any write
  bool reads_length = false;
};

std::vector<std::size_t> successors(const bpf_insn& insn, std::size_t at) {
  std::uint64_t next = at + 1;
  if (BPF_CLASS(insn.code) == BPF_RET) return {};
  if (BPF_CLASS(insn.code) != BPF_JMP) return {next};
  if (BPF_OP(insn.code) == BPF_JA) return {next + insn.k};
  return {next + insn.jt, next + insn.jf};
}

// Forward jumps only, so one pass in program order sees every path into an
// instruction before the instruction. The verifier refuses unreachable
// instructions, so what only an instruction that always gives up leads to
// counts as unreachable.
Flow analyze(const std::vector<bpf_insn>& code, Target target) {
  Flow flow;
  flow.reachable.assign(code.size(), false);
  std::vector<std::optional<std::uint32_t>> written(code.size());  // on every path to here
  if (code.empty()) throw std::invalid_argument("classic program without instructions");
  written[0] = 0;
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (!written[i]) continue;
    flow.reachable[i] = true;
    const bpf_insn& insn = code[i];
    std::uint32_t words = *written[i];
    std::uint16_t cls = BPF_CLASS(insn.code);
    bool scratch = (cls == BPF_LD || cls == BPF_LDX) ? BPF_MODE(insn.code) == BPF_MEM : (cls == BPF_ST || cls == BPF_STX);
    if (scratch && insn.k >= kScratchWords) {
      throw std::invalid_argument(fmt::format("instruction {}: scratch word {} beyond {}", i, insn.k, kScratchWords));
    }
    if (scratch && (cls == BPF_LD || cls == BPF_LDX) && !(words & (1u << insn.k))) {
      flow.unwritten_reads |= 1u << insn.k;
    }
    if (scratch && (cls == BPF_ST || cls == BPF_STX)) words |= 1u << insn.k;
    if ((cls == BPF_LD || cls == BPF_LDX) && BPF_MODE(insn.code) == BPF_LEN) flow.reads_length = true;
    if (always_gives_up(insn, target)) continue;
    for (std::size_t next : successors(insn, i)) {
      if (next >= code.size()) {
        throw std::invalid_argument(fmt::format("instruction {} leads past the end of the program", i));
      }
      written[next] = written[next] ? (*written[next] & words) : words;
    }
  }
  return flow;
}

// An eBPF instruction whose jump offset is still a destination.
// 16 bytes: a large program has a few hundred thousand of these.
struct Pending {
  static constexpr std::uint32_t kNoClassicTarget = std::numeric_limits<std::uint32_t>::max();
  Instruction insn;
  std::uint32_t classic_target = kNoClassicTarget;  // the start of that classic instruction
  bool to_return_zero = false;
  bool to_epilogue = false;  // XDP counters: where the verdict is counted
};
static_assert(sizeof(Pending) == 16);

class Translator {
 public:
  Translator(const BpfProgram& classic, Target target, const std::optional<XdpCounters>& counters)
      : classic_(classic), target_(target), counters_(counters), flow_(analyze(classic.instructions, target)) {
    if (counters_ && target_ != Target::Xdp) throw std::invalid_argument("counters go with XDP programs");
    if (counters_ && (counters_->map_fd < 0 || counters_->slots < 2)) {
      throw std::invalid_argument("counters need a map of at least two slots");
    }
  }

  Program run() {
    prologue();
    const auto& code = classic_.instructions;
    if (code.size() >= Pending::kNoClassicTarget) throw std::length_error("classic program too long to translate");
    start_.assign(code.size(), 0);
    for (std::size_t i = 0; i < code.size(); ++i) {
      if (!flow_.reachable[i]) continue;
      start_[i] = static_cast<PlanIndex>(code_.size());  // checked in layout(): the code only grows
      instruction(code[i], i);
    }
    return layout();
  }

 private:
  void emit(const Instruction& insn) { code_.push_back({insn, Pending::kNoClassicTarget, false}); }

  void emit_jump(const Instruction& insn, std::size_t classic_target) {
    code_.push_back({insn, static_cast<std::uint32_t>(classic_target), false});
  }

  // Where classic BPF gives up on a packet (a load past its end, a
  // division by zero) and returns 0.
  void emit_return_zero_jump(const Instruction& insn) {
    code_.push_back({insn, Pending::kNoClassicTarget, true});
    return_zero_used_ = true;
  }

  void give_up() { emit_return_zero_jump(make(BPF_JMP | BPF_JA, 0, 0, 0, 0)); }

  void prologue() {
    // prologue
    emit(make(isa::kAlu64 | isa::kMov | BPF_X, kContext, kContextAtEntry, 0, 0));
    if (target_ == Target::Xdp && flow_.reads_length) {
      // Subtracting packet pointers needs CAP_PERFMON, as XDP programs in
      // C that take data_end - data do.
      emit(make(BPF_LDX | BPF_MEM | BPF_W, kLength, kContext, isa::kXdpDataEndOffset, 0));
      emit(make(BPF_LDX | BPF_MEM | BPF_W, kPointer, kContext, isa::kXdpDataOffset, 0));
      emit(make(isa::kAlu64 | BPF_SUB | BPF_X, kLength, kPointer, 0, 0));
    }
    // Classic BPF starts with A = X = 0, and current libpcap with zeroed
    // scratch memory. The verifier refuses to read a register that nothing
    // wrote, and a stack word unless the loader has CAP_PERFMON.
    emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, 0));
    emit(make(BPF_ALU | isa::kMov | BPF_K, kX, 0, 0, 0));
    for (std::uint32_t k = 0; k < kScratchWords; ++k) {
      if (flow_.unwritten_reads & (1u << k)) emit(make(BPF_ST | BPF_MEM | BPF_W, kFrame, 0, slot(k), 0));
    }
  }

  void instruction(const bpf_insn& insn, std::size_t at) {
    std::uint16_t code = insn.code;
    if (always_gives_up(insn, target_)) return give_up();
    switch (BPF_CLASS(code)) {
      case BPF_LD:
      case BPF_LDX:
        load(insn);
        return;
      case BPF_ST:
        emit(make(BPF_STX | BPF_MEM | BPF_W, kFrame, kA, slot(insn.k), 0));
        return;
      case BPF_STX:
        emit(make(BPF_STX | BPF_MEM | BPF_W, kFrame, kX, slot(insn.k), 0));
        return;
      case BPF_ALU:
        arithmetic(insn, at);
        return;
      case BPF_JMP:
        jump(insn, at);
        return;
      case BPF_RET:
        ret(insn, at);
        return;
      case BPF_MISC:
        if (BPF_MISCOP(code) == BPF_TAX) return emit(make(BPF_ALU | isa::kMov | BPF_X, kX, kA, 0, 0));
        if (BPF_MISCOP(code) == BPF_TXA) return emit(make(BPF_ALU | isa::kMov | BPF_X, kA, kX, 0, 0));
        break;
    }
    invalid(insn, at);
  }

  [[noreturn]] static void invalid(const bpf_insn& insn, std::size_t at) {
    throw std::invalid_argument(fmt::format("instruction {}: no classic BPF opcode {:#04x}", at, insn.code));
  }

  void load(const bpf_insn& insn) {
    std::uint16_t code = insn.code;
    bool to_x = BPF_CLASS(code) == BPF_LDX;
    std::uint8_t dst = to_x ? kX : kA;
    switch (BPF_MODE(code)) {
      case BPF_IMM:
        return emit(make(BPF_ALU | isa::kMov | BPF_K, dst, 0, 0, bits(insn.k)));
      case BPF_MEM:
        return emit(make(BPF_LDX | BPF_MEM | BPF_W, dst, kFrame, slot(insn.k), 0));
      case BPF_LEN:
        if (target_ == Target::SocketFilter) {
          return emit(make(BPF_LDX | BPF_MEM | BPF_W, dst, kContext, isa::kSkbLenOffset, 0));
        }
        return emit(make(BPF_ALU | isa::kMov | BPF_X, dst, kLength, 0, 0));
      case BPF_ABS:
      case BPF_IND:
        if (to_x) break;
        return packet_load(load_size(code), insn.k, BPF_MODE(code) == BPF_IND, kA);
      case BPF_MSH:
        if (!to_x || BPF_SIZE(code) != BPF_B) break;
        return header_length(insn.k);
    }
    throw std::invalid_argument(fmt::format("no classic BPF load {:#04x}", code));
  }

  // dst = the `size` bytes at k (+ X if indexed), in host order; past the
  // end, the program returns 0.
  void packet_load(std::uint32_t size, std::uint32_t k, bool indexed, std::uint8_t dst) {
    if (target_ == Target::SocketFilter) return socket_load(size, k, indexed);
    std::uint32_t end = k + size;  // at most kMaxPacketOffset (always_gives_up)
    if (indexed) {
      // X is bounded first, so that the verifier can prove the read; an X
      // beyond the bound puts the read beyond any XDP buffer anyway.
      emit(make(BPF_ALU | isa::kMov | BPF_X, kIndex, kX, 0, 0));
      emit_return_zero_jump(make(BPF_JMP | BPF_JGT | BPF_K, kIndex, 0, 0,
                                 static_cast<std::int32_t>(isa::kMaxPacketOffset - end)));
    }
    emit(make(BPF_LDX | BPF_MEM | BPF_W, kPointer, kContext, isa::kXdpDataOffset, 0));
    emit(make(BPF_LDX | BPF_MEM | BPF_W, kDataEnd, kContext, isa::kXdpDataEndOffset, 0));
    if (indexed) emit(make(isa::kAlu64 | BPF_ADD | BPF_X, kPointer, kIndex, 0, 0));
    emit(make(isa::kAlu64 | BPF_ADD | BPF_K, kPointer, 0, 0, static_cast<std::int32_t>(end)));
    emit_return_zero_jump(make(BPF_JMP | BPF_JGT | BPF_X, kPointer, kDataEnd, 0, 0));
    std::uint8_t width = size == 4 ? BPF_W : size == 2 ? BPF_H : BPF_B;
    emit(make(BPF_LDX | BPF_MEM | width, dst, kPointer, static_cast<std::int16_t>(-static_cast<int>(size)), 0));
    if (size > 1) emit(make(BPF_ALU | isa::kEnd | isa::kToBigEndian, dst, 0, 0, static_cast<std::int32_t>(size * 8)));
  }

  // LD_ABS and LD_IND read into A and give up with 0 as classic loads do.
  // Their offset is a signed int, whose negative values mean the link and
  // network headers: offsets classic libpcap finds past the end.
  void socket_load(std::uint32_t size, std::uint32_t k, bool indexed) {
    std::uint8_t width = size == 4 ? BPF_W : size == 2 ? BPF_H : BPF_B;
    if (indexed) {
      // Also keeps X + k from wrapping around to a small offset.
      emit_return_zero_jump(make(isa::kJmp32 | BPF_JGT | BPF_K, kX, 0, 0, bits(kMaxLoadOffset - k)));
      emit(make(BPF_LD | BPF_IND | width, 0, kX, 0, bits(k)));
    } else {
      emit(make(BPF_LD | BPF_ABS | width, 0, 0, 0, bits(k)));
    }
  }

  // X = 4 * (the low nibble of the byte at k).
  void header_length(std::uint32_t k) {
    if (target_ == Target::SocketFilter) {
      emit(make(BPF_ALU | isa::kMov | BPF_X, kSavedA, kA, 0, 0));
      socket_load(1, k, false);
      emit(make(BPF_ALU | isa::kMov | BPF_X, kX, kA, 0, 0));
      emit(make(BPF_ALU | isa::kMov | BPF_X, kA, kSavedA, 0, 0));
    } else {
      packet_load(1, k, false, kX);
    }
    emit(make(BPF_ALU | BPF_AND | BPF_K, kX, 0, 0, 0xf));
    emit(make(BPF_ALU | BPF_LSH | BPF_K, kX, 0, 0, 2));
  }

  // Classic arithmetic is eBPF's 32-bit arithmetic with the same opcode,
  // but for what eBPF leaves open: division by zero (classic gives up with
  // 0) and shifts by 32 or more (libpcap's result is 0).
  void arithmetic(const bpf_insn& insn, std::size_t at) {
    std::uint16_t op = BPF_OP(insn.code);
    bool by_x = BPF_SRC(insn.code) == BPF_X;
    switch (op) {
      case BPF_ADD:
      case BPF_SUB:
      case BPF_MUL:
      case BPF_AND:
      case BPF_OR:
      case BPF_XOR:
        break;
      case BPF_NEG:
        return emit(make(BPF_ALU | BPF_NEG, kA, 0, 0, 0));
      case BPF_DIV:
      case BPF_MOD:
        if (by_x) emit_return_zero_jump(make(isa::kJmp32 | BPF_JEQ | BPF_K, kX, 0, 0, 0));
        break;
      case BPF_LSH:
      case BPF_RSH:
        if (!by_x && insn.k >= 32) return emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, 0));
        if (by_x) {
          emit(make(isa::kJmp32 | isa::kJlt | BPF_K, kX, 0, 2, 32));
          emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, 0));
          emit(make(BPF_JMP | BPF_JA, 0, 0, 1, 0));
        }
        break;
      default:
        invalid(insn, at);
    }
    emit(make(static_cast<std::uint8_t>(insn.code), kA, by_x ? kX : 0, 0, by_x ? 0 : bits(insn.k)));
  }

  // Classic conditional jumps have two targets; eBPF's fall through when
  // false. JMP32 compares the low 32 bits, as classic BPF compares.
  void jump(const bpf_insn& insn, std::size_t at) {
    std::uint16_t op = BPF_OP(insn.code);
    std::size_t next = at + 1;
    if (op == BPF_JA) {
      std::size_t target = next + insn.k;
      if (target != next) emit_jump(make(BPF_JMP | BPF_JA, 0, 0, 0, 0), target);
      return;
    }
    if (op != BPF_JEQ && op != BPF_JGT && op != BPF_JGE && op != BPF_JSET) invalid(insn, at);
    bool by_x = BPF_SRC(insn.code) == BPF_X;
    std::size_t on_true = next + insn.jt;
    std::size_t on_false = next + insn.jf;
    auto compare = [&](std::uint16_t with) {
      return make(static_cast<std::uint8_t>(isa::kJmp32 | with | BPF_SRC(insn.code)), kA, by_x ? kX : 0, 0,
                  by_x ? 0 : bits(insn.k));
    };
    if (on_true == on_false) {
      if (on_true != next) emit_jump(make(BPF_JMP | BPF_JA, 0, 0, 0, 0), on_true);
      return;
    }
    if (on_true == next && op != BPF_JSET) {
      std::uint16_t inverse = op == BPF_JEQ ? isa::kJne : op == BPF_JGT ? isa::kJle : isa::kJlt;
      emit_jump(compare(inverse), on_false);
      return;
    }
    if (on_true == next) {
      // JSET has no inverse: skip the jump to the false target.
      Instruction skip = compare(BPF_JSET);
      skip.offset = 1;
      emit(skip);
    } else {
      emit_jump(compare(op), on_true);
    }
    if (on_false != next) emit_jump(make(BPF_JMP | BPF_JA, 0, 0, 0, 0), on_false);
  }

  void ret(const bpf_insn& insn, std::size_t at) {
    std::uint16_t source = BPF_RVAL(insn.code);
    if (source != BPF_K && source != BPF_A) invalid(insn, at);
    if (counters_) {
      if (source == BPF_K) emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, bits(insn.k)));
      code_.push_back({make(BPF_JMP | BPF_JA, 0, 0, 0, 0), Pending::kNoClassicTarget, false, true});
      return;
    }
    if (target_ == Target::SocketFilter) {
      if (source == BPF_K) emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, bits(insn.k)));
    } else if (source == BPF_K) {
      emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, insn.k ? isa::kXdpDrop : isa::kXdpPass));
    } else {
      emit(make(isa::kJmp32 | isa::kJne | BPF_K, kA, 0, 2, 0));
      emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, isa::kXdpPass));
      emit(make(BPF_JMP | isa::kExit, 0, 0, 0, 0));
      emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, isa::kXdpDrop));
    }
    emit(make(BPF_JMP | isa::kExit, 0, 0, 0, 0));
  }

  // Adds one to the counter in the slot the key on the stack names.
  void count_slot() {
    emit(make(isa::kDoubleWord, 1, isa::kPseudoMapFd, 0, counters_->map_fd));
    emit(make(0, 0, 0, 0, 0));  // the immediate's upper half
    emit(make(isa::kAlu64 | isa::kMov | BPF_X, 2, kFrame, 0, 0));
    emit(make(isa::kAlu64 | BPF_ADD | BPF_K, 2, 0, 0, kCounterKey));
    emit(make(BPF_JMP | isa::kCall, 0, 0, 0, isa::kMapLookupElem));
    emit(make(BPF_JMP | BPF_JEQ | BPF_K, kA, 0, 3, 0));  // no such slot
    emit(make(BPF_LDX | BPF_MEM | isa::kDoubleWord, 1, kA, 0, 0));
    emit(make(isa::kAlu64 | BPF_ADD | BPF_K, 1, 0, 0, 1));
    emit(make(BPF_STX | BPF_MEM | isa::kDoubleWord, kA, 1, 0, 0));
  }

  // The classic verdict in A: counted in slot 0 and in its own slot, then
  // the packet dropped or passed.
  void counting_epilogue() {
    // count: packets seen
    emit(make(BPF_ALU | isa::kMov | BPF_X, kVerdict, kA, 0, 0));
    emit(make(BPF_ST | BPF_MEM | BPF_W, kFrame, 0, kCounterKey, 0));
    count_slot();
    std::optional<std::size_t> not_syn_to_pass;
    if (counters_->not_syn_verdict) {
      // count: SYNs seen
      emit(make(isa::kJmp32 | BPF_JEQ | BPF_K, kVerdict, 0, 0, bits(*counters_->not_syn_verdict)));
      not_syn_to_pass = code_.size() - 1;
      emit(make(BPF_ST | BPF_MEM | BPF_W, kFrame, 0, kCounterKey, bits(counters_->slots)));
      count_slot();
    }
    // count: the verdict's slot
    std::uint32_t last = counters_->slots - 1;
    emit(make(isa::kJmp32 | BPF_JEQ | BPF_K, kVerdict, 0, 0, 0));
    std::size_t to_pass = code_.size() - 1;
    emit(make(isa::kJmp32 | isa::kJlt | BPF_K, kVerdict, 0, 1, bits(last + 1)));
    emit(make(BPF_ALU | isa::kMov | BPF_K, kVerdict, 0, 0, bits(last)));
    emit(make(BPF_STX | BPF_MEM | BPF_W, kFrame, kVerdict, kCounterKey, 0));
    count_slot();
    emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, counters_->count_only ? isa::kXdpPass : isa::kXdpDrop));
    emit(make(BPF_JMP | isa::kExit, 0, 0, 0, 0));
    code_[to_pass].insn.offset = static_cast<std::int16_t>(code_.size() - to_pass - 1);
    if (not_syn_to_pass) {
      code_[*not_syn_to_pass].insn.offset = static_cast<std::int16_t>(code_.size() - *not_syn_to_pass - 1);
    }
    emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, isa::kXdpPass));
    emit(make(BPF_JMP | isa::kExit, 0, 0, 0, 0));
  }

  Program layout() {
    std::size_t return_zero = code_.size();
    if (return_zero_used_) {
      // classic BPF gives up: returns 0
      emit(make(BPF_ALU | isa::kMov | BPF_K, kA, 0, 0, counters_ ? 0 : target_ == Target::Xdp ? isa::kXdpPass : 0));
      if (!counters_) emit(make(BPF_JMP | isa::kExit, 0, 0, 0, 0));
    }
    std::size_t epilogue = code_.size();
    if (counters_) counting_epilogue();
    // Before the starts (PlanIndex) are read: none was larger than this.
    if (code_.size() > kMaxPlannedInstructions) {
      throw std::length_error(fmt::format("{} eBPF instructions: too many for any jump", code_.size()));
    }
    std::vector<PlanIndex> targets(code_.size(), kNoTarget);
    for (std::size_t i = 0; i < code_.size(); ++i) {
      const Pending& p = code_[i];
      if (p.classic_target != Pending::kNoClassicTarget) targets[i] = start_[p.classic_target];
      else if (p.to_epilogue) targets[i] = static_cast<PlanIndex>(epilogue);
      else if (p.to_return_zero) targets[i] = static_cast<PlanIndex>(return_zero);
    }
    std::vector<Instruction> instructions(code_.size());
    for (std::size_t i = 0; i < code_.size(); ++i) instructions[i] = code_[i].insn;
    release(code_);  // before the jumps are planned: large programs need every megabyte
    release(start_);
    JumpPlan plan = plan_jumps(instructions, std::move(targets), target_);
    Program out;
    out.target = target_;
    out.instructions = std::move(plan.instructions);
    return out;
  }

  const BpfProgram& classic_;
  Target target_;
  std::optional<XdpCounters> counters_;
  Flow flow_;
  std::vector<Pending> code_;
  std::vector<PlanIndex> start_;  // per classic instruction: its first eBPF instruction
  bool return_zero_used_ = false;
};

}  // namespace

Program translate(const BpfProgram& classic, Target target, const std::optional<XdpCounters>& counters) {
  return Translator(classic, target, counters).run();
}

}  // namespace p0fbpf::ebpf
