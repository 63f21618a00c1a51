#include "p0fbpf/compiler.hpp"

#include <fmt/format.h>

#include "p0fbpf/optimize.hpp"
#include "p0fbpf/parser.hpp"
#include "p0fbpf/read_guards.hpp"
#include "p0fbpf/share_versions.hpp"

namespace p0fbpf {
namespace {

// The forms a program can take, fastest first. The last serves programs
// with nothing to share between versions.
struct Form {
  bool share_versions;
  bool window_shortcut;
};
constexpr Form kForms[] = {{false, true}, {true, true}, {true, false}, {false, false}};

// Each source's branches, with the diagnostics in input order; false if any
// source had an error.
bool lower_all(const std::vector<SignatureSource>& sources, const CompileOptions& options,
               std::vector<std::vector<ir::Branch>>& branches, std::vector<SourcedDiagnostic>* diagnostics) {
  bool ok = true;
  for (const SignatureSource& source : sources) {
    branches.emplace_back();
    Result<Signature> parsed = parse_signature(source.text);
    if (!parsed) {
      if (diagnostics) diagnostics->push_back({parsed.error(), source});
      ok = false;
      continue;
    }
    Result<Lowered> lowered = lower(*parsed, options.lower);
    if (!lowered) {
      if (diagnostics) diagnostics->push_back({lowered.error(), source});
      ok = false;
      continue;
    }
    if (diagnostics) {
      for (const Diagnostic& warning : lowered->warnings) diagnostics->push_back({warning, source});
    }
    for (const ir::Branch& branch : lowered->branches) {
      if (!options.ip_version || branch.ip_version == *options.ip_version) branches.back().push_back(branch);
    }
  }
  return ok;
}

// The members' branches, linked and optimized, up to the last passes.
ir::Program prepared(const std::vector<std::vector<ir::Branch>>& branches, const std::vector<std::size_t>& members,
                     const CompileOptions& options) {
  ir::Program program;
  for (std::size_t m : members) program.branches.insert(program.branches.end(), branches[m].begin(), branches[m].end());
  program = apply_link(program, options.link);
  return options.optimize ? p0fbpf::optimize(program) : program;
}

// Negated programs get their read guards, the others lose the last branch's;
// either may share versions (nullopt if nothing was shared).
std::optional<ir::Program> finished(const ir::Program& program, const CompileOptions& options, bool share) {
  ir::Program in = options.codegen.negate ? guard_fixed_reads(program) : program;
  if (!options.optimize) return share ? std::nullopt : std::optional(in);
  ir::Program out = share ? share_versions(in) : in;
  if (share && out.branches.size() == in.branches.size()) return std::nullopt;
  return options.codegen.negate ? out : drop_last_read_guards(out);
}

// The sources lowered for each window check form, lowered when first needed.
class Lowerings {
 public:
  Lowerings(const std::vector<SignatureSource>& sources, const CompileOptions& options)
      : sources_(sources), options_(options) {}

  // Lowers for the first form, collecting the diagnostics; false on errors.
  bool lower_first(std::vector<SourcedDiagnostic>& diagnostics) {
    return lower_all(sources_, options_, with_shortcut_.emplace(), &diagnostics);
  }
  const std::vector<std::vector<ir::Branch>>& branches(bool window_shortcut) {
    auto& slot = window_shortcut ? with_shortcut_ : without_shortcut_;
    if (!slot) {
      CompileOptions options = options_;
      options.lower.window_shortcut = window_shortcut;
      lower_all(sources_, options, slot.emplace(), nullptr);
    }
    return *slot;
  }
  // The fastest form within options.fit_within (see CompileOptions).
  std::pair<ir::Program, BpfProgram> best(const std::vector<std::size_t>& members) {
    std::optional<std::pair<ir::Program, BpfProgram>> smallest;
    std::optional<ir::Program> with_shortcut, without_shortcut;
    for (const Form& form : kForms) {
      auto& ready = form.window_shortcut ? with_shortcut : without_shortcut;
      if (!ready) ready = prepared(branches(form.window_shortcut), members, options_);
      std::optional<ir::Program> ir = finished(*ready, options_, form.share_versions);
      if (!ir) continue;  // the same as a form tried before
      BpfProgram program = generate(*ir, options_.codegen);
      std::size_t size = program.instructions.size();
      if (!smallest || size < smallest->second.instructions.size()) smallest.emplace(std::move(*ir), std::move(program));
      bool enough = options_.fit_within == 0 || !options_.optimize || size <= options_.fit_within;
      if (enough) break;
    }
    return std::move(*smallest);
  }

 private:
  const std::vector<SignatureSource>& sources_;
  const CompileOptions& options_;
  std::optional<std::vector<std::vector<ir::Branch>>> with_shortcut_, without_shortcut_;
};

std::vector<std::size_t> every(std::size_t count) {
  std::vector<std::size_t> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = i;
  return out;
}

}  // namespace

Compilation compile(const std::vector<SignatureSource>& sources, const CompileOptions& options) {
  Compilation out;
  Lowerings lowerings(sources, options);
  bool ok = lowerings.lower_first(out.diagnostics);
  if (!ok) {
    out.ir = *finished(prepared(lowerings.branches(true), every(sources.size()), options), options, false);
    return out;
  }
  auto [ir, program] = lowerings.best(every(sources.size()));
  out.ir = std::move(ir);
  out.program = std::move(program);
  return out;
}

SplitCompilation compile_split(const std::vector<SignatureSource>& sources, const CompileOptions& options,
                               std::size_t limit) {
  SplitCompilation out;
  CompileOptions fitted = options;
  fitted.fit_within = limit;
  Lowerings lowerings(sources, fitted);
  if (!lowerings.lower_first(out.diagnostics)) return out;
  const auto& branches = lowerings.branches(true);
  std::vector<std::size_t> current;
  std::optional<BpfProgram> current_program;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    if (branches[i].empty()) continue;  // never matches (for this IP version)
    std::vector<std::size_t> trial = current;
    trial.push_back(i);
    BpfProgram program = lowerings.best(trial).second;
    if (program.instructions.size() <= limit) {
      current = std::move(trial);
      current_program = std::move(program);
      continue;
    }
    if (!current.empty()) {
      out.programs.push_back(std::move(*current_program));
      out.members.push_back(std::move(current));
      current.clear();
      program = lowerings.best({i}).second;
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
