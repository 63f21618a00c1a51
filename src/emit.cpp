#include "p0fbpf/emit.hpp"

#include <fmt/format.h>

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

std::string c_array(const BpfProgram& program) {
  std::string out =
      "#include <linux/filter.h>\n\n"
      "static struct sock_filter p0fbpf_filter[] = {\n";
  for (const bpf_insn& insn : program.instructions) {
    out += fmt::format("\t{{ 0x{:x}, {}, {}, 0x{:08x} }},\n", insn.code, insn.jt, insn.jf, insn.k);
  }
  out += "};\n\n";
  out += fmt::format(
      "static struct sock_fprog p0fbpf_program = {{\n"
      "\t.len = {},\n"
      "\t.filter = p0fbpf_filter,\n"
      "}};\n",
      program.instructions.size());
  return out;
}

std::string decimal(const BpfProgram& program) {
  std::string out = fmt::format("{}\n", program.instructions.size());
  for (const bpf_insn& insn : program.instructions) {
    out += fmt::format("{} {} {} {}\n", insn.code, insn.jt, insn.jf, insn.k);
  }
  return out;
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name == "iptables") return Format::Iptables;
  if (name == "asm") return Format::Assembly;
  if (name == "c") return Format::C;
  if (name == "ddd") return Format::Decimal;
  return std::nullopt;
}

std::string emit(const BpfProgram& program, Format format) {
  switch (format) {
    case Format::Iptables: return iptables(program);
    case Format::Assembly: return assembly(program);
    case Format::C: return c_array(program);
    case Format::Decimal: return decimal(program);
  }
  return {};
}

}  // namespace p0fbpf
