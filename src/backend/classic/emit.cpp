#include "p0fbpf/emit.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "ir/field_list.hpp"

namespace p0fbpf {
namespace {

std::string iptables(const BpfProgram& program) {
  std::string out = fmt::format("{}", program.instructions.size());
  for (const bpf_insn& insn : program.instructions) {
    out += fmt::format(",{} {} {} {}", insn.code, insn.jt, insn.jf, insn.k);
  }
  return out + "\n";
}

std::string assembly(const BpfProgram& program) {
  std::string out;
  for (std::size_t i = 0; i < program.instructions.size(); ++i) {
    // bpf_image takes a non-const pointer in older libpcap headers.
    bpf_insn insn = program.instructions[i];
    std::string line = bpf_image(&insn, static_cast<int>(i));
    const std::string& comment = program.comments[i];
    if (comment.empty()) out += line + "\n";
    else out += fmt::format("{:<40} ; {}\n", line, comment);
  }
  return out;
}

std::string c_array(const BpfProgram& program, std::string_view name) {
  std::string out = fmt::format(
      "#include <linux/filter.h>\n\n"
      "static struct sock_filter {}_filter[] = {{\n", name);
  for (const bpf_insn& insn : program.instructions) {
    out += fmt::format("\t{{ 0x{:x}, {}, {}, 0x{:08x} }},\n", insn.code, insn.jt, insn.jf, insn.k);
  }
  out += "};\n\n";
  out += fmt::format(
      "static struct sock_fprog {}_program __attribute__((unused)) = {{\n"
      "\t.len = {},\n"
      "\t.filter = {}_filter,\n"
      "}};\n",
      name, program.instructions.size(), name);
  return out;
}

std::string decimal(const BpfProgram& program) {
  std::string out = fmt::format("{}\n", program.instructions.size());
  for (const bpf_insn& insn : program.instructions) {
    out += fmt::format("{} {} {} {}\n", insn.code, insn.jt, insn.jf, insn.k);
  }
  return out;
}

// Basic blocks: a block starts at 0, at every jump target and after every
// jump or return.
std::string dot(const BpfProgram& program) {
  const auto& code = program.instructions;
  std::size_t n = code.size();
  std::vector<bool> leader(n + 1, false);
  leader[0] = true;
  auto target = [&](std::size_t i, std::uint32_t offset) { return i + 1 + offset; };
  for (std::size_t i = 0; i < n; ++i) {
    std::uint16_t cls = BPF_CLASS(code[i].code);
    if (cls == BPF_JMP) {
      if (BPF_OP(code[i].code) == BPF_JA) {
        leader[std::min(n, target(i, code[i].k))] = true;
      } else {
        leader[std::min(n, target(i, code[i].jt))] = true;
        leader[std::min(n, target(i, code[i].jf))] = true;
      }
      leader[i + 1] = true;
    } else if (cls == BPF_RET) {
      leader[i + 1] = true;
    }
  }
  auto escape = [](const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '"' || c == '\\' || c == '{' || c == '}' || c == '<' || c == '>' || c == '|') out += '\\';
      if (c == '\t') out += "  ";
      else out += c;
    }
    return out;
  };
  std::string out = "digraph p0fbpf {\n  node [shape=box, fontname=monospace];\n";
  auto block_of = [&](std::size_t i) {
    std::size_t b = i;
    while (!leader[b]) --b;
    return b;
  };
  for (std::size_t start = 0; start < n;) {
    std::size_t end = start + 1;
    while (end < n && !leader[end]) ++end;
    const bpf_insn& last = code[end - 1];
    std::string label;
    std::string fields;
    for (std::size_t i = start; i < end; ++i) {
      bpf_insn insn = code[i];
      label += escape(bpf_image(&insn, static_cast<int>(i))) + "\\l";
      add_field_names(fields, program.comments[i]);
    }
    std::string style;
    if (BPF_CLASS(last.code) == BPF_RET) {
      bool accepts = last.k != 0;
      style = accepts ? ", style=filled, fillcolor=palegreen" : ", style=filled, fillcolor=lightpink";
      fields = accepts ? "ACCEPT" : "REJECT";
    }
    out += fmt::format("  b{} [label=\"{}\\l{}\"{}];\n", start, escape(fields), label, style);
    if (BPF_CLASS(last.code) == BPF_JMP) {
      std::size_t i = end - 1;
      if (BPF_OP(last.code) == BPF_JA) {
        out += fmt::format("  b{} -> b{};\n", start, block_of(target(i, last.k)));
      } else {
        out += fmt::format("  b{} -> b{} [label=\"true\", color=darkgreen];\n", start, block_of(target(i, last.jt)));
        out += fmt::format("  b{} -> b{} [label=\"false\", color=red];\n", start, block_of(target(i, last.jf)));
      }
    } else if (BPF_CLASS(last.code) != BPF_RET && end < n) {
      out += fmt::format("  b{} -> b{};\n", start, end);
    }
    start = end;
  }
  return out + "}\n";
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name == "iptables") return Format::Iptables;
  if (name == "asm") return Format::Assembly;
  if (name == "c") return Format::C;
  if (name == "ddd") return Format::Decimal;
  if (name == "dot") return Format::Dot;
  return std::nullopt;
}

std::string emit(const BpfProgram& program, Format format, std::string_view name) {
  switch (format) {
    case Format::Iptables: return iptables(program);
    case Format::Assembly: return assembly(program);
    case Format::C: return c_array(program, name);
    case Format::Decimal: return decimal(program);
    case Format::Dot: return dot(program);
  }
  return {};
}

}  // namespace p0fbpf
