#include "p0fbpf/compiler.hpp"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "backend/nft/ruleset.hpp"
#include "base/release.hpp"
#include "p0fbpf/parser.hpp"
#include "passes/syn_gate.hpp"
#include "pipeline.hpp"

namespace p0fbpf {
namespace {

std::vector<std::size_t> first(std::size_t count) {
  std::vector<std::size_t> out(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = i;
  return out;
}

std::string oversize_message(std::size_t prefix, std::size_t count, std::size_t size, std::size_t limit) {
  if (count == 1) return fmt::format("the signature needs {} instructions, more than the {} allowed", size, limit);
  if (prefix == count) {
    return fmt::format("the {} signatures need {} instructions, more than the {} allowed", count, size, limit);
  }
  return fmt::format("the first {} of {} signatures already need {} instructions, more than the {} allowed", prefix,
                     count, size, limit);
}

// What compile() makes of a selection: its IR, and its program when it has
// no error and fits.
struct Outcome {
  ir::Program ir;
  std::optional<BpfProgram> program;
  bool oversize = false;
};

Outcome compile_selection(ProgramBuilder& builder, const std::vector<SignatureSource>& sources,
                          const CompileOptions& options, std::vector<SourcedDiagnostic>& diagnostics) {
  std::size_t fit_within = options.fit_within;
  if (options.refuse_over && (fit_within == 0 || fit_within > options.refuse_over)) fit_within = options.refuse_over;
  auto refused = [&](std::size_t prefix, ir::Program ir, std::size_t size) {
    const SignatureSource& last = sources[prefix - 1];
    diagnostics.push_back(
        {Diagnostic{Severity::Error, {0, last.text.size()},
                    oversize_message(prefix, sources.size(), size, options.refuse_over) + options.refuse_over_reason,
                    !options.refuse_over_help.empty() ? options.refuse_over_help
                    : sources.size() == 1             ? "no smaller form of it exists: raise the limit"
                                                      : "compile_split (p0fbpf --split) makes as many programs as "
                                                        "needed within the limit"},
         last});
    return Outcome{std::move(ir), std::nullopt, true};
  };
  // Growing prefixes, before the whole selection is checked
  // (refuse_before_checking): each at most four times the last, and no
  // larger than what the last one's size per signature says is 10% over
  // the limit, so that a selection far over it is refused after compiling
  // about what the limit holds a few times (a prefix over it is compiled in
  // every form), however large the selection.
  bool early = options.refuse_over && options.refuse_before_checking;
  for (std::size_t prefix = 1; early && prefix < sources.size();) {
    auto [ir, program] = builder.best(first(prefix), fit_within, false, true);
    std::size_t size = program.instructions.size();
    if (size > options.refuse_over) return refused(prefix, std::move(ir), size);
    // The next prefix holds this one: its lowerings are kept, not redone.
    std::size_t estimate = size ? prefix * options.refuse_over / size * 110 / 100 : 4 * prefix;
    prefix = std::max(prefix + 1, std::min(4 * prefix, estimate));
  }
  bool ok = true;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    ok = builder.lower_checked(i, diagnostics) && ok;
    // A selection that may be refused keeps nothing of the check: the
    // prefixes lower again what they reach, so memory follows them.
    if (options.refuse_over) builder.forget(i);
  }
  if (!ok) return Outcome{builder.first_form_ir(first(sources.size())), std::nullopt, false};
  // Doubling prefixes, then the whole selection, as above.
  for (std::size_t prefix = 1; options.refuse_over && !early && prefix < sources.size(); prefix *= 2) {
    auto [ir, program] = builder.best(first(prefix), fit_within, false, true);
    if (program.instructions.size() > options.refuse_over) {
      return refused(prefix, std::move(ir), program.instructions.size());
    }
  }
  auto [ir, program] = builder.best(first(sources.size()), fit_within, true);
  if (options.refuse_over && program.instructions.size() > options.refuse_over) {
    return refused(sources.size(), std::move(ir), program.instructions.size());
  }
  return Outcome{std::move(ir), std::move(program), false};
}

}  // namespace

Compilation compile(const std::vector<SignatureSource>& sources, const CompileOptions& options) {
  Compilation out;
  ProgramBuilder builder(sources, options);
  Outcome outcome = compile_selection(builder, sources, options, out.diagnostics);
  out.ir = std::make_shared<const ir::Program>(std::move(outcome.ir));
  out.program = std::move(outcome.program);
  out.oversize = outcome.oversize;
  return out;
}

SplitCompilation compile_split(const std::vector<SignatureSource>& sources, const CompileOptions& options,
                               std::size_t limit) {
  SplitCompilation out;
  CompileOptions fitted = options;
  fitted.fit_within = limit;
  ProgramBuilder builder(sources, fitted);
  // Programs are made while the sources are read; after an error, or a
  // signature alone over the limit, the rest are only checked, for their
  // diagnostics.
  bool errors = false;
  std::optional<std::size_t> too_large;  // the signature, until the others' diagnostics are in
  std::size_t too_large_size = 0;
  std::vector<std::size_t> current;
  std::optional<BpfProgram> current_program;
  auto close_current = [&] {
    out.programs.push_back(std::move(*current_program));
    for (std::size_t m : current) builder.forget(m);
    out.members.push_back(std::move(current));
    current.clear();
  };
  for (std::size_t i = 0; i < sources.size(); ++i) {
    errors = !builder.lower_checked(i, out.diagnostics) || errors;
    if (errors || too_large || builder.branches(i, true).empty()) {
      // Only checked, or never matches (for this IP version).
      builder.forget(i);
      continue;
    }
    std::vector<std::size_t> trial = current;
    trial.push_back(i);
    BpfProgram program = builder.best(trial, limit).second;
    if (program.instructions.size() <= limit) {
      current = std::move(trial);
      current_program = std::move(program);
      continue;
    }
    if (!current.empty()) {
      close_current();
      program = builder.best({i}, limit).second;
    }
    if (program.instructions.size() > limit) {
      too_large = i;
      too_large_size = program.instructions.size();
      builder.forget(i);
      continue;
    }
    current = {i};
    current_program = std::move(program);
  }
  if (errors) {
    out.programs.clear();
    out.members.clear();
    return out;
  }
  if (too_large) {
    const SignatureSource& source = sources[*too_large];
    out.diagnostics.push_back(
        {Diagnostic{Severity::Error, {0, source.text.size()},
                    fmt::format("this signature alone needs {} instructions, more than the {} allowed",
                                too_large_size, limit),
                    "use another format with a larger --max-insns"},
         source});
    out.too_large = true;
    return out;
  }
  if (!current.empty()) close_current();
  out.ok = true;
  return out;
}

NftRuleset compile_nft(const std::vector<SignatureSource>& sources, const std::vector<std::string>& names,
                       const CompileOptions& options, const NftOptions& nft) {
  NftRuleset out;
  std::vector<nft::Member> members;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    Result<Signature> parsed = parse_signature(sources[i].text);
    if (!parsed) {
      out.diagnostics.push_back({parsed.error(), sources[i]});
      continue;
    }
    Result<Lowered> lowered = run_nft_passes(*parsed, options, fmt::format("signature {}", i + 1));
    if (!lowered) {
      out.diagnostics.push_back({lowered.error(), sources[i]});
      continue;
    }
    for (const Diagnostic& w : lowered->warnings) out.diagnostics.push_back({w, sources[i]});
    members.push_back({sources[i], names[i], std::move(lowered->branches)});
  }
  if (members.size() < sources.size()) return out;
  // --negate: the SYN gate sends the direction's SYNs to the signatures.
  std::optional<ir::Program> gate;
  if (options.negate) gate = syn_gate(options.direction, options.ip_version, false);
  NftRuleset made = nft::ruleset(members, gate ? &*gate : nullptr, nft);
  out.diagnostics.insert(out.diagnostics.end(), made.diagnostics.begin(), made.diagnostics.end());
  out.text = std::move(made.text);
  out.rules = made.rules;
  out.ok = made.ok;
  return out;
}

bool Compilation::can_match() const { return ir && !ir->branches.empty(); }

std::string ir_text(const ir::Program& program) { return ir::to_string(program); }

BpfProgram empty_program(const CompileOptions& options) {
  return generate(with_gate(ir::Program{}, options), codegen_options(options));
}

bool is_valid(const BpfProgram& program) {
  std::vector<bpf_insn> copy = program.instructions;
  return bpf_validate(copy.data(), static_cast<int>(copy.size())) != 0;
}

void release_compiler_memory() { release_free_heap(); }

}  // namespace p0fbpf
