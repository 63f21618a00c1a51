#include "p0fbpf/compiler.hpp"

#include "p0fbpf/parser.hpp"

namespace p0fbpf {

Compilation compile(const std::vector<SignatureSource>& sources, const CompileOptions& options) {
  Compilation out;
  bool failed = false;
  for (const SignatureSource& source : sources) {
    Result<Signature> parsed = parse_signature(source.text);
    if (!parsed) {
      out.diagnostics.push_back({parsed.error(), source});
      failed = true;
      continue;
    }
    Result<Lowered> lowered = lower(*parsed, options.lower);
    if (!lowered) {
      out.diagnostics.push_back({lowered.error(), source});
      failed = true;
      continue;
    }
    for (const Diagnostic& warning : lowered->warnings) out.diagnostics.push_back({warning, source});
    for (const ir::Branch& branch : lowered->branches) out.ir.branches.push_back(branch);
  }
  out.ir = apply_link(out.ir, options.link);
  if (!failed) out.program = generate(out.ir, options.codegen);
  return out;
}

bool is_valid(const BpfProgram& program) {
  std::vector<bpf_insn> copy = program.instructions;
  return bpf_validate(copy.data(), static_cast<int>(copy.size())) != 0;
}

}  // namespace p0fbpf
