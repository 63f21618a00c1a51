#include "p0fbpf/compiler.hpp"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

#include "p0fbpf/parser.hpp"
#include "pipeline.hpp"

namespace p0fbpf {
namespace {

// Each source through run_signature_passes, per window check form, when
// first needed; forget()
// lets the sources of a finished program go, so that memory follows the
// program being built rather than the whole selection.
class Lowerings {
 public:
  Lowerings(const std::vector<SignatureSource>& sources, const CompileOptions& options)
      : sources_(sources), options_(options) {}

  // Lowers the source for the first form, adding its diagnostics; false if
  // it has an error (it then has no branches).
  bool lower_checked(std::size_t source, std::vector<SourcedDiagnostic>& diagnostics) {
    Entry& entry = entries_[source];
    Result<Signature> parsed = parse_signature(sources_[source].text);
    if (!parsed) {
      diagnostics.push_back({parsed.error(), sources_[source]});
      entry.forms[0].emplace();
      return false;
    }
    entry.signature = *parsed;
    return lower_form(source, entry, true, &diagnostics);
  }

  // The source's prepared branches (see the class comment).
  const std::vector<ir::Branch>& branches(std::size_t source, bool window_shortcut) {
    Entry& entry = entries_[source];
    if (!entry.forms[window_shortcut ? 0 : 1]) {
      if (!entry.signature) {
        Result<Signature> parsed = parse_signature(sources_[source].text);
        if (parsed) entry.signature = *parsed;
      }
      if (entry.signature) lower_form(source, entry, window_shortcut, nullptr);
      else entry.forms[window_shortcut ? 0 : 1].emplace();
    }
    return *entry.forms[window_shortcut ? 0 : 1];
  }

  void forget(std::size_t source) { entries_.erase(source); }

  // The fastest form within fit_within (see CompileOptions), or the
  // smallest if none fits.
  std::pair<ir::Program, BpfProgram> best(const std::vector<std::size_t>& members, std::size_t fit_within) {
    return fastest_form([&](bool window_shortcut) { return prepared(members, window_shortcut); }, options_,
                        fit_within);
  }

  ir::Program prepared(const std::vector<std::size_t>& members, bool window_shortcut) {
    std::vector<const std::vector<ir::Branch>*> per_member;
    per_member.reserve(members.size());
    for (std::size_t m : members) per_member.push_back(&branches(m, window_shortcut));
    return run_program_passes(per_member, options_);
  }

 private:
  struct Entry {
    std::optional<Signature> signature;
    std::optional<std::vector<ir::Branch>> forms[2];  // with, without the window shortcut
  };

  // The first form lowers with the options as given (the caller's window
  // shortcut setting), the second without the shortcut.
  bool lower_form(std::size_t source, Entry& entry, bool first, std::vector<SourcedDiagnostic>* diagnostics) {
    auto& slot = entry.forms[first ? 0 : 1].emplace();
    std::string scope = fmt::format("signature {}{}", source + 1, first ? "" : ", full window check");
    Result<Lowered> lowered = run_signature_passes(*entry.signature, first, options_, scope);
    if (!lowered) {
      if (diagnostics) diagnostics->push_back({lowered.error(), sources_[source]});
      return false;
    }
    if (diagnostics) {
      for (const Diagnostic& warning : lowered->warnings) diagnostics->push_back({warning, sources_[source]});
    }
    slot = std::move(lowered->branches);
    for (ir::Branch& branch : slot) branch.signature = static_cast<std::uint32_t>(source);
    return true;
  }

  const std::vector<SignatureSource>& sources_;
  const CompileOptions& options_;
  std::unordered_map<std::size_t, Entry> entries_;
};

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

}  // namespace

Compilation compile(const std::vector<SignatureSource>& sources, const CompileOptions& options) {
  Compilation out;
  Lowerings lowerings(sources, options);
  std::size_t fit_within = options.fit_within;
  if (options.refuse_over && (fit_within == 0 || fit_within > options.refuse_over)) fit_within = options.refuse_over;
  auto refuse = [&](std::size_t prefix, ir::Program ir, std::size_t size) {
    const SignatureSource& last = sources[prefix - 1];
    out.diagnostics.push_back(
        {Diagnostic{Severity::Error, {0, last.text.size()},
                    oversize_message(prefix, sources.size(), size, options.refuse_over) + options.refuse_over_reason,
                    !options.refuse_over_help.empty() ? options.refuse_over_help
                    : sources.size() == 1             ? "no smaller form of it exists: raise the limit"
                                                      : "compile_split (p0fbpf --split) makes as many programs as "
                                                        "needed within the limit"},
         last});
    out.ir = std::make_shared<const ir::Program>(std::move(ir));
    out.oversize = true;
  };
  // Growing prefixes, before the whole selection is checked
  // (refuse_before_checking): each at most four times the last, and no
  // larger than what the last one's size per signature says is 2% over
  // the limit, so that a selection far over it is refused after compiling
  // about what the limit holds a few times (a prefix over it is compiled in
  // every form), however large the selection.
  bool early = options.refuse_over && options.refuse_before_checking;
  for (std::size_t prefix = 1; early && prefix < sources.size();) {
    auto [ir, program] = lowerings.best(first(prefix), fit_within);
    std::size_t size = program.instructions.size();
    if (size > options.refuse_over) {
      refuse(prefix, std::move(ir), size);
      return out;
    }
    // The next prefix holds this one: its lowerings are kept, not redone.
    std::size_t estimate = size ? prefix * options.refuse_over / size * 102 / 100 : 4 * prefix;
    prefix = std::max(prefix + 1, std::min(4 * prefix, estimate));
  }
  bool ok = true;
  for (std::size_t i = 0; i < sources.size(); ++i) {
    ok = lowerings.lower_checked(i, out.diagnostics) && ok;
    // A selection that may be refused keeps nothing of the check: the
    // prefixes lower again what they reach, so memory follows them.
    if (options.refuse_over) lowerings.forget(i);
  }
  if (!ok) {
    ir::Program prepared = lowerings.prepared(first(sources.size()), true);
    out.ir = std::make_shared<const ir::Program>(*run_form_passes(prepared, {false, true}, options, "program"));
    return out;
  }
  // Doubling prefixes, then the whole selection, as above.
  for (std::size_t prefix = 1; options.refuse_over && !early && prefix < sources.size(); prefix *= 2) {
    auto [ir, program] = lowerings.best(first(prefix), fit_within);
    if (program.instructions.size() > options.refuse_over) {
      refuse(prefix, std::move(ir), program.instructions.size());
      return out;
    }
  }
  auto [ir, program] = lowerings.best(first(sources.size()), fit_within);
  if (options.refuse_over && program.instructions.size() > options.refuse_over) {
    refuse(sources.size(), std::move(ir), program.instructions.size());
    return out;
  }
  out.ir = std::make_shared<const ir::Program>(std::move(ir));
  out.program = std::move(program);
  return out;
}

SplitCompilation compile_split(const std::vector<SignatureSource>& sources, const CompileOptions& options,
                               std::size_t limit) {
  SplitCompilation out;
  CompileOptions fitted = options;
  fitted.fit_within = limit;
  Lowerings lowerings(sources, fitted);
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
    for (std::size_t m : current) lowerings.forget(m);
    out.members.push_back(std::move(current));
    current.clear();
  };
  for (std::size_t i = 0; i < sources.size(); ++i) {
    errors = !lowerings.lower_checked(i, out.diagnostics) || errors;
    if (errors || too_large || lowerings.branches(i, true).empty()) {
      // Only checked, or never matches (for this IP version).
      lowerings.forget(i);
      continue;
    }
    std::vector<std::size_t> trial = current;
    trial.push_back(i);
    BpfProgram program = lowerings.best(trial, limit).second;
    if (program.instructions.size() <= limit) {
      current = std::move(trial);
      current_program = std::move(program);
      continue;
    }
    if (!current.empty()) {
      close_current();
      program = lowerings.best({i}, limit).second;
    }
    if (program.instructions.size() > limit) {
      too_large = i;
      too_large_size = program.instructions.size();
      lowerings.forget(i);
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

bool Compilation::can_match() const { return ir && !ir->branches.empty(); }

std::string ir_text(const ir::Program& program) { return ir::to_string(program); }

BpfProgram empty_program(const CompileOptions& options) {
  return generate(with_gate(ir::Program{}, options), codegen_options(options));
}

bool is_valid(const BpfProgram& program) {
  std::vector<bpf_insn> copy = program.instructions;
  return bpf_validate(copy.data(), static_cast<int>(copy.size())) != 0;
}

}  // namespace p0fbpf
