#include "p0fbpf/compiler.hpp"

#include <fmt/format.h>

#include "p0fbpf/optimize.hpp"
#include "p0fbpf/parser.hpp"

namespace p0fbpf {
namespace {

// Each source's branches, with the diagnostics in input order; false if any
// source had an error.
bool lower_all(const std::vector<SignatureSource>& sources, const CompileOptions& options,
               std::vector<std::vector<ir::Branch>>& branches, std::vector<SourcedDiagnostic>& diagnostics) {
  bool ok = true;
  for (const SignatureSource& source : sources) {
    branches.emplace_back();
    Result<Signature> parsed = parse_signature(source.text);
    if (!parsed) {
      diagnostics.push_back({parsed.error(), source});
      ok = false;
      continue;
    }
    Result<Lowered> lowered = lower(*parsed, options.lower);
    if (!lowered) {
      diagnostics.push_back({lowered.error(), source});
      ok = false;
      continue;
    }
    for (const Diagnostic& warning : lowered->warnings) diagnostics.push_back({warning, source});
    for (const ir::Branch& branch : lowered->branches) {
      if (!options.ip_version || branch.ip_version == *options.ip_version) branches.back().push_back(branch);
    }
  }
  return ok;
}

ir::Program linked(const std::vector<std::vector<ir::Branch>>& branches, const std::vector<std::size_t>& members,
                   const CompileOptions& options) {
  ir::Program program;
  for (std::size_t m : members) program.branches.insert(program.branches.end(), branches[m].begin(), branches[m].end());
  program = apply_link(program, options.link);
  if (options.optimize) program = p0fbpf::optimize(program);
  if (options.codegen.negate) return guard_fixed_reads(program);
  return options.optimize ? drop_last_read_guards(program) : program;
}

}  // namespace

Compilation compile(const std::vector<SignatureSource>& sources, const CompileOptions& options) {
  Compilation out;
  std::vector<std::vector<ir::Branch>> branches;
  bool ok = lower_all(sources, options, branches, out.diagnostics);
  std::vector<std::size_t> everything(sources.size());
  for (std::size_t i = 0; i < everything.size(); ++i) everything[i] = i;
  out.ir = linked(branches, everything, options);
  if (ok) out.program = generate(out.ir, options.codegen);
  return out;
}

SplitCompilation compile_split(const std::vector<SignatureSource>& sources, const CompileOptions& options,
                               std::size_t limit) {
  SplitCompilation out;
  std::vector<std::vector<ir::Branch>> branches;
  if (!lower_all(sources, options, branches, out.diagnostics)) return out;
  std::vector<std::size_t> current;
  std::optional<BpfProgram> current_program;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (branches[i].empty()) continue;  // never matches (for this IP version)
    std::vector<std::size_t> trial = current;
    trial.push_back(i);
    BpfProgram program = generate(linked(branches, trial, options), options.codegen);
    if (program.instructions.size() <= limit) {
      current = std::move(trial);
      current_program = std::move(program);
      continue;
    }
    if (!current.empty()) {
      out.programs.push_back(std::move(*current_program));
      out.members.push_back(std::move(current));
      current.clear();
      program = generate(linked(branches, {i}, options), options.codegen);
    }
    if (program.instructions.size() > limit) {
      out.diagnostics.push_back(
          {Diagnostic{Severity::Error, {0, sources[i].text.size()},
                      fmt::format("this signature alone needs {} instructions, more than the {} allowed",
                                  program.instructions.size(), limit),
                      "use another format with a larger --max-insns"},
           sources[i]});
      out.too_large = true;
      return out;
    }
    current = {i};
    current_program = std::move(program);
  }
  if (!current.empty()) {
    out.programs.push_back(std::move(*current_program));
    out.members.push_back(std::move(current));
  }
  out.ok = true;
  return out;
}

bool is_valid(const BpfProgram& program) {
  std::vector<bpf_insn> copy = program.instructions;
  return bpf_validate(copy.data(), static_cast<int>(copy.size())) != 0;
}

}  // namespace p0fbpf
