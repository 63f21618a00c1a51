#include "p0fbpf/xdp_c.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "backend/ebpf/translate.hpp"
#include "p0fbpf/bpf_program.hpp"

namespace p0fbpf::ebpf {
namespace {

struct LoadShape {
  std::uint32_t size;
  const char* type;     // what is read
  const char* to_host;  // and how it becomes a number
};

LoadShape shape(std::uint16_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_W: return {4, "__u32", "bpf_ntohl"};
    case BPF_H: return {2, "__u16", "bpf_ntohs"};
    default: return {1, "__u8", ""};
  }
}

const char* alu_operator(std::uint16_t op) {
  switch (op) {
    case BPF_ADD: return "+";
    case BPF_SUB: return "-";
    case BPF_MUL: return "*";
    case BPF_DIV: return "/";
    case BPF_MOD: return "%";
    case BPF_AND: return "&";
    case BPF_OR: return "|";
    case BPF_XOR: return "^";
    case BPF_LSH: return "<<";
    case BPF_RSH: return ">>";
  }
  return nullptr;
}

const char* jump_operator(std::uint16_t op) {
  switch (op) {
    case BPF_JEQ: return "==";
    case BPF_JGT: return ">";
    case BPF_JGE: return ">=";
    case BPF_JSET: return "&";
  }
  return nullptr;
}

class Printer {
 public:
  explicit Printer(const BpfProgram& classic) : classic_(classic) {}

  std::string body() {
    const auto& code = classic_.instructions;
    for (std::size_t i = 0; i < code.size(); ++i) {
      const bpf_insn& insn = code[i];
      if (BPF_CLASS(insn.code) == BPF_JMP) {
        std::size_t next = i + 1;
        // Only where a goto goes: a jump by 0 falls through.
        if (BPF_OP(insn.code) == BPF_JA && insn.k) targets_.insert(next + insn.k);
        if (BPF_OP(insn.code) != BPF_JA && insn.jt) targets_.insert(next + insn.jt);
        if (BPF_OP(insn.code) != BPF_JA && insn.jf) targets_.insert(next + insn.jf);
      }
      std::uint16_t cls = BPF_CLASS(insn.code);
      if ((cls == BPF_LD || cls == BPF_LDX) && BPF_MODE(insn.code) == BPF_LEN) uses_length_ = true;
      bool load = cls == BPF_LD || cls == BPF_LDX;
      if ((load && BPF_MODE(insn.code) == BPF_MEM) || cls == BPF_ST || cls == BPF_STX) uses_scratch_ = true;
    }
    std::string said;  // the comment above, said once for the instructions that share it
    for (std::size_t i = 0; i < code.size(); ++i) {
      if (targets_.count(i)) {
        out_ += fmt::format("L{}:;\n", i);
        said.clear();
      }
      if (i < classic_.comments.size() && !classic_.comments[i].empty() && classic_.comments[i] != said) {
        said = classic_.comments[i];
        out_ += fmt::format("\t/* {} */\n", said);
      }
      statement(code[i], i);
    }
    if (!targets_.empty() && *targets_.rbegin() >= code.size()) {
      throw std::invalid_argument("a classic jump leads past the end of the program");
    }
    return out_;
  }

  bool uses_length() const { return uses_length_; }
  bool uses_scratch() const { return uses_scratch_; }

 private:
  void line(const std::string& text) { out_ += "\t" + text + "\n"; }

  // Past the end (or beyond any XDP buffer), classic BPF gives up with 0.
  void packet_load(std::uint16_t code, std::uint32_t k, bool indexed, const char* dst) {
    LoadShape s = shape(code);
    std::uint64_t end = std::uint64_t{k} + s.size;
    if (end > isa::kMaxPacketOffset) return line("return 0;");
    std::string read = fmt::format("{}(*(const {} *)(p + {}{}))", s.to_host, s.type, indexed ? "i + " : "", k);
    if (!indexed) {
      line(fmt::format("if (p + {} > end) return 0;", end));
      return line(fmt::format("{} = {};", dst, read));
    }
    // The verifier must see the bound on the register that indexes: behind
    // the barrier, clang can no longer widen X again after the check.
    line("{");
    line("\t__u64 i = X;");
    line("\tbarrier_var(i);");
    line(fmt::format("\tif (i > {}) return 0;", isa::kMaxPacketOffset - end));
    line(fmt::format("\tif (p + i + {} > end) return 0;", end));
    line(fmt::format("\t{} = {};", dst, read));
    line("}");
  }

  void statement(const bpf_insn& insn, std::size_t at) {
    std::uint16_t code = insn.code;
    std::uint16_t cls = BPF_CLASS(code);
    std::uint32_t k = insn.k;
    const char* reg = cls == BPF_LDX ? "X" : "A";
    switch (cls) {
      case BPF_LD:
      case BPF_LDX:
        switch (BPF_MODE(code)) {
          case BPF_IMM: return line(fmt::format("{} = {:#x}u;", reg, k));
          case BPF_MEM: return line(fmt::format("{} = M[{}];", reg, k));
          case BPF_LEN: return line(fmt::format("{} = length;", reg));
          case BPF_ABS:
          case BPF_IND:
            if (cls == BPF_LD) return packet_load(code, k, BPF_MODE(code) == BPF_IND, "A");
            break;
          case BPF_MSH:
            if (cls != BPF_LDX) break;
            packet_load(BPF_B, k, false, "X");
            return line("X = (X & 0xf) << 2;");
        }
        break;
      case BPF_ST: return line(fmt::format("M[{}] = A;", k));
      case BPF_STX: return line(fmt::format("M[{}] = X;", k));
      case BPF_ALU: {
        std::uint16_t op = BPF_OP(code);
        if (op == BPF_NEG) return line("A = 0u - A;");
        const char* symbol = alu_operator(op);
        if (!symbol) break;
        bool by_x = BPF_SRC(code) == BPF_X;
        std::string operand = by_x ? "X" : fmt::format("{:#x}u", k);
        bool division = op == BPF_DIV || op == BPF_MOD;
        bool shift = op == BPF_LSH || op == BPF_RSH;
        if (division && !by_x && k == 0) return line("return 0;");
        if (division && by_x) line("if (X == 0) return 0;");
        if (shift && !by_x && k >= 32) return line("A = 0;");
        if (shift && by_x) return line(fmt::format("A = X < 32 ? A {} X : 0;", symbol));
        return line(fmt::format("A {}= {};", symbol, operand));
      }
      case BPF_JMP: {
        std::size_t next = at + 1;
        if (BPF_OP(code) == BPF_JA) {
          if (k != 0) line(fmt::format("goto L{};", next + k));
          return;
        }
        const char* symbol = jump_operator(BPF_OP(code));
        if (!symbol) break;
        std::string operand = BPF_SRC(code) == BPF_X ? "X" : fmt::format("{:#x}u", k);
        std::string test = fmt::format("A {} {}", symbol, operand);
        if (insn.jt == insn.jf) {
          if (insn.jt) line(fmt::format("goto L{};", next + insn.jt));
        } else if (insn.jt == 0) {
          line(fmt::format("if (!({})) goto L{};", test, next + insn.jf));
        } else {
          line(fmt::format("if ({}) goto L{};", test, next + insn.jt));
          if (insn.jf) line(fmt::format("goto L{};", next + insn.jf));
        }
        return;
      }
      case BPF_RET:
        if (BPF_RVAL(code) == BPF_K) return line(fmt::format("return {:#x}u;", k));
        if (BPF_RVAL(code) == BPF_A) return line("return A;");
        break;
      case BPF_MISC:
        if (BPF_MISCOP(code) == BPF_TAX) return line("X = A;");
        if (BPF_MISCOP(code) == BPF_TXA) return line("A = X;");
        break;
    }
    throw std::invalid_argument(fmt::format("instruction {}: no classic BPF opcode {:#04x}", at, code));
  }

  const BpfProgram& classic_;
  std::set<std::size_t> targets_;
  bool uses_length_ = false;
  bool uses_scratch_ = false;
  std::string out_;
};

// A description inside a // comment: printable characters only, and never
// a backslash at the end, which would continue the comment.
std::string comment_text(std::string_view text) {
  std::string out;
  for (char c : text) out += c >= ' ' && c <= '~' ? c : '?';
  return "\"" + out + "\"";
}

}  // namespace

bool is_c_identifier(std::string_view name) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (name.empty() || name.size() > 32 || !letter(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return letter(c) || (c >= '0' && c <= '9'); });
}

std::string print_xdp_c(const BpfProgram& classic, const XdpCOptions& options) {
  if (!is_c_identifier(options.name)) throw std::invalid_argument("not a C identifier: " + options.name);
  if (options.verdicts.empty()) throw std::invalid_argument("no verdict to count");
  Printer printer(classic);
  std::string body = printer.body();
  const std::string& name = options.name;
  std::size_t slots = options.verdicts.size() + 1;
  std::string out = fmt::format(
      "// Generated by p0fbpf: an XDP program that {} what the classic program\n"
      "// accepts. clang -O2 -g -target bpf -c FILE.c -o FILE.o\n"
      "#include <linux/bpf.h>\n"
      "#include <bpf/bpf_helpers.h>\n"
      "#include <bpf/bpf_endian.h>\n"
      "\n"
      "// The classic program's return value on the packet from data to\n"
      "// data_end: 0 for no match. A read past the end gives 0.\n"
      "static __always_inline int {}_match(const void *data, const void *data_end)\n"
      "{{\n"
      "\tconst __u8 *p = data;\n"
      "\tconst __u8 *end = data_end;\n"
      "\t__u32 A = 0, X = 0;\n",
      options.count_only ? "counts (and passes)" : "drops", name);
  if (printer.uses_scratch()) out += "\t__u32 M[16] = {};\n";
  // Behind the barrier the length is a number: without it clang may fold
  // the arithmetic on it back into the pointers (data_end + ~data), which
  // the verifier refuses.
  if (printer.uses_length()) out += "\t__u32 length = end - p;\n\tbarrier_var(length);\n";
  out += body;
  out += fmt::format(
      "}}\n"
      "\n"
      "// The counters, per CPU.\n"
      "// slot 0: packets seen\n");
  for (std::size_t v = 0; v < options.verdicts.size(); ++v) {
    out += fmt::format("// slot {}: {}\n", v + 1, comment_text(options.verdicts[v]));
  }
  out += fmt::format(
      "struct {{\n"
      "\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\n"
      "\t__uint(max_entries, {1});\n"
      "\t__type(key, __u32);\n"
      "\t__type(value, __u64);\n"
      "}} {0}_counters SEC(\".maps\");\n"
      "\n"
      "static __always_inline void {0}_count(__u32 slot)\n"
      "{{\n"
      "\t__u64 *count = bpf_map_lookup_elem(&{0}_counters, &slot);\n"
      "\n"
      "\tif (count)\n"
      "\t\t*count += 1;\n"
      "}}\n"
      "\n"
      "SEC(\"xdp\")\n"
      "int {0}(struct xdp_md *ctx)\n"
      "{{\n"
      "\tvoid *data = (void *)(long)ctx->data;\n"
      "\tvoid *data_end = (void *)(long)ctx->data_end;\n"
      "\t__u32 verdict = {0}_match(data, data_end);\n"
      "\n"
      "\t{0}_count(0);\n"
      "\tif (!verdict)\n"
      "\t\treturn XDP_PASS;\n"
      "\t{0}_count(verdict < {1} ? verdict : {2});\n"
      "\treturn {3};\n"
      "}}\n"
      "\n"
      "char LICENSE[] SEC(\"license\") = \"MIT\";\n",
      name, slots, slots - 1, options.count_only ? "XDP_PASS" : "XDP_DROP");
  return out;
}

}  // namespace p0fbpf::ebpf
