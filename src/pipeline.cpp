#include "pipeline.hpp"

#include <stdexcept>

#include <fmt/format.h>

#include "p0fbpf/compiler.hpp"
#include "p0fbpf/parser.hpp"
#include "p0fbpf/script.hpp"
#include "passes/group_branches.hpp"
#include "passes/late_version_word.hpp"
#include "passes/link.hpp"
#include "passes/merge_checks.hpp"
#include "passes/order_versions.hpp"
#include "passes/read_guards.hpp"
#include "passes/share_branches.hpp"
#include "passes/share_versions.hpp"
#include "passes/syn_gate.hpp"
#include "passes/widen_masks.hpp"
#include "ir/verify.hpp"

namespace p0fbpf {
namespace {

// The forms a program can take, fastest first. The first four group
// branches: with IPv6's first word checked late (behind a link header) and
// masks widened, with either, and with neither, should the others make the
// program too large (each is skipped where it would be the same as a later
// one). The fifth and sixth have fewer branches moved, should moving them
// make the program too large for xt_bpf (see best()); the last serves
// programs with nothing to share between versions. From the fourth on they
// are the forms of the programs before late-version-word and widen-masks,
// so no program loses a fit that those had.
constexpr Form kForms[] = {{false, true, true, true, true, true},
                           {false, true, true, true, false, true},
                           {false, true, true, true, true, false},
                           {false, true, true, true},
                           {false, true, true, false},
                           {false, true, false, false},
                           {true, true, false, false},
                           {true, false, false, false},
                           {false, false, false, false}};

// The forms that move fewer branches than the grouped ones: tried only
// within xt_bpf's limit after a grouped form (see best()).
bool is_fallback(const Form& form) {
  return !form.share_versions && form.window_shortcut && !form.group_branches;
}

std::string describe(std::size_t index, Form form, bool tag_copies) {
  std::string late = form.late_version_word ? "IPv6's first word late, " : "";
  std::string moved = form.widen_masks      ? " (versions ordered, " + late + "first masks widened, branches grouped)"
                      : form.group_branches ? " (versions ordered, " + late + "branches grouped)"
                      : form.order_versions ? " (versions ordered)"
                                            : "";
  return fmt::format("form {} of {}: {}{}, {} window check{}", index + 1, std::size(kForms),
                     form.share_versions ? "one branch for both IP versions" : "a branch per IP version", moved,
                     form.window_shortcut ? "short" : "full", tag_copies ? ", a copy per 802.1Q layout" : "");
}

// A pass's output, reported and (verify_each_pass) verified; `changed`, if
// given, says whether it differs from the input.
ir::Program passed(std::string_view pass, std::string_view scope, const ir::Program& before, ir::Program after,
                   const CompileOptions& options, bool* changed = nullptr) {
  if (options.verify_each_pass) {
    std::vector<ir::VerifyError> errors = ir::verify(after);
    if (!errors.empty()) {
      std::string text = fmt::format("the IR after {} ({}) is malformed:", pass, scope);
      for (const auto& error : errors) text += "\n  " + error.render();
      throw std::logic_error(text);
    }
  }
  if (changed || options.observe_passes) {
    bool differs = !ir::identical(before, after);
    if (changed) *changed = differs;
    if (options.observe_passes) options.observe_passes(PassReport{pass, scope, differs, before, after});
  }
  return after;
}

// Each branch's condition through `pass`.
ir::Program per_branch(const ir::Program& program, ir::ConditionPtr (*pass)(const ir::ConditionPtr&)) {
  ir::Program out = program;
  for (ir::Branch& branch : out.branches) branch.condition = pass(branch.condition);
  return out;
}

}  // namespace

LowerOptions lower_options(const CompileOptions& options, bool window_shortcut) {
  return {options.mode, options.direction, window_shortcut};
}

CodegenOptions codegen_options(const CompileOptions& options) {
  CodegenOptions out{options.negate,       options.accept_value, options.verdict_per_signature,
                     options.not_syn_verdict, options.thread_jumps, options.comments,
                     options.balance_compares};
  // Only where a packet starts with its IP header: behind a link header the
  // first word is the link's.
  out.version_split = options.version_split && options.link.type == LinkType::Raw;
  return out;
}

namespace {

// Behind a link header a program is for tc or a packet socket, which see
// every packet; xt_bpf (raw) lets only SYNs reach a rule's program.
bool gated(const CompileOptions& options) {
  return options.syn_gate || (options.negate && options.link.type != LinkType::Raw);
}

}  // namespace

ir::Program with_gate(ir::Program program, const CompileOptions& options) {
  if (!gated(options)) return program;
  // A read past the end returns 0: the gate's own verdict, unless it has
  // another. Framed like the branches.
  bool guarded = options.not_syn_verdict != 0;
  ir::Program gate = syn_gate(options.direction, options.ip_version, guarded);
  program.gate = resolve_link_base(apply_link(gate, options.link), guarded).branches;
  return program;
}

const std::vector<std::string_view>& pass_names() {
  static const std::vector<std::string_view> names = {
      "lower",          "ip-version",     "link",           "merge-checks",      "drop-implied-lengths",
      "share-branches", "order-versions", "late-version-word", "widen-masks",   "group-branches",
      "guard-reads",    "share-versions", "drop-last-guards", "copy-per-tag",   "frame-once",
      "resolve-link-base", "syn-gate",
  };
  return names;
}

Result<Lowered> run_signature_passes(const Signature& signature, bool window_shortcut, const CompileOptions& options,
                                     std::string_view scope) {
  Result<Lowered> lowered = lower(signature, lower_options(options, window_shortcut));
  if (!lowered) return lowered;
  ir::Program program = passed("lower", scope, {}, ir::Program{lowered->branches}, options);

  ir::Program kept;
  for (const ir::Branch& branch : program.branches) {
    if (!options.ip_version || branch.ip_version == *options.ip_version) kept.branches.push_back(branch);
  }
  program = passed("ip-version", scope, program, std::move(kept), options);
  program = passed("link", scope, program, apply_link(program, options.link), options);
  if (options.optimize) {
    program = passed("merge-checks", scope, program, per_branch(program, merge_neighbouring_checks), options);
    program = passed("drop-implied-lengths", scope, program, per_branch(program, drop_implied_length_checks), options);
  }
  return Lowered{std::move(program.branches), lowered->warnings};
}

Result<Lowered> run_nft_passes(const Signature& signature, const CompileOptions& options, std::string_view scope) {
  CompileOptions raw = options;
  raw.link = {LinkType::Raw, 0};
  return run_signature_passes(signature, true, raw, scope);
}

ir::Program run_program_passes(const std::vector<const std::vector<ir::Branch>*>& per_member,
                               const CompileOptions& options) {
  ir::Program program;
  for (const auto* branches : per_member) program.branches.insert(program.branches.end(), branches->begin(), branches->end());
  if (!options.optimize) return program;
  return passed("share-branches", "program", program, share_branches(program, options.verdict_per_signature), options);
}

namespace {

// Whether a copy per 802.1Q layout can stand in for the indexed reads.
bool copies_apply(const CompileOptions& options) {
  return options.optimize && !options.negate && options.link.type == LinkType::Ethernet;
}

// 3 up to the link layout: nullopt where run_form_passes says.
std::optional<ir::Program> shape_form(const ir::Program& program, Form form, const CompileOptions& options,
                                      std::string_view scope) {
  const bool negate = options.negate;
  ir::Program out = program;
  if (form.order_versions) {
    if (!options.optimize) return std::nullopt;
    bool changed = false;
    out = passed("order-versions", scope, out, order_versions(out), options, &changed);
    if (!changed && !form.group_branches) return std::nullopt;  // the same as the next form
  }
  if (form.late_version_word) {
    if (!options.optimize || !options.late_version_word) return std::nullopt;
    bool changed = false;
    out = passed("late-version-word", scope, out, late_version_word(out), options, &changed);
    if (!changed) return std::nullopt;  // the same as the form without it
  }
  if (form.group_branches) {
    if (!options.optimize) return std::nullopt;
    if (form.widen_masks) {
      bool widened = false;
      out = passed("widen-masks", scope, out, widen_first_masks(out), options, &widened);
      if (!widened) return std::nullopt;  // the same as the form without it
    }
    bool changed = false;
    out = passed("group-branches", scope, out, group_branches(out, options.verdict_per_signature), options, &changed);
    // The same as the next form, unless an earlier pass of this one made it
    // differ.
    if (!changed && !form.widen_masks && !form.late_version_word) return std::nullopt;
  }
  // Negated programs get their read guards, the others lose the last
  // branch's; either may share versions.
  if (negate) out = passed("guard-reads", scope, out, guard_fixed_reads(out), options);
  if (form.share_versions) {
    if (!options.optimize) return std::nullopt;
    bool changed = false;
    out = passed("share-versions", scope, out, share_versions(out, options.verdict_per_signature), options, &changed);
    if (!changed) return std::nullopt;  // the same as the form without sharing
  }
  if (options.optimize && !negate) out = passed("drop-last-guards", scope, out, drop_last_read_guards(out), options);
  return out;
}

// The rest of 3: reads behind a link header of variable length are
// indexed, by a shift the program works out once where it can, or
// (tag_copies) each branch is copied for either header; last, the SYN gate
// goes in front.
ir::Program finish_form(ir::Program shaped, const CompileOptions& options, std::string_view scope, bool tag_copies) {
  std::optional<ir::Program> once;
  // Its read of the link header is unguarded: a negated program needs the
  // SYN gate in front, whose reads cover it.
  bool guarded = !options.negate || gated(options);
  if (!tag_copies && options.frame_once && options.optimize && guarded) once = frame_once(shaped);
  ir::Program out = tag_copies ? passed("copy-per-tag", scope, shaped, copy_per_tag(shaped), options)
                    : once     ? passed("frame-once", scope, shaped, std::move(*once), options)
                               : passed("resolve-link-base", scope, shaped,
                                        resolve_link_base(shaped, options.negate), options);
  return passed("syn-gate", scope, out, with_gate(out, options), options);
}

}  // namespace

std::optional<ir::Program> run_form_passes(const ir::Program& program, Form form, const CompileOptions& options,
                                           std::string_view scope, bool tag_copies) {
  if (tag_copies && !copies_apply(options)) return std::nullopt;
  std::optional<ir::Program> shaped = shape_form(program, form, options, scope);
  if (!shaped) return std::nullopt;
  return finish_form(std::move(*shaped), options, scope, tag_copies);
}

bool ProgramBuilder::lower_checked(std::size_t source, std::vector<SourcedDiagnostic>& diagnostics) {
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

const std::vector<ir::Branch>& ProgramBuilder::branches(std::size_t source, bool window_shortcut) {
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

// The first form lowers with the options as given (the caller's window
// shortcut setting), the second without the shortcut.
bool ProgramBuilder::lower_form(std::size_t source, Entry& entry, bool first,
                                std::vector<SourcedDiagnostic>* diagnostics) {
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

ir::Program ProgramBuilder::joined(const std::vector<std::size_t>& members, bool window_shortcut) {
  std::vector<const std::vector<ir::Branch>*> per_member;
  per_member.reserve(members.size());
  for (std::size_t m : members) per_member.push_back(&branches(m, window_shortcut));
  return run_program_passes(per_member, options_);
}

std::pair<ir::Program, BpfProgram> ProgramBuilder::best(const std::vector<std::size_t>& members,
                                                        std::size_t fit_within, bool last_use, bool probe) {
  std::optional<std::pair<ir::Program, BpfProgram>> smallest;
  std::optional<ir::Program> with_shortcut, without_shortcut;
  bool moved = false;  // an earlier form moved branches
  for (std::size_t i = 0; i < std::size(kForms); ++i) {
    const Form& form = kForms[i];
    // The forms that move fewer branches are tried after one that moved
    // them only within xt_bpf's limit, where every program that fit before
    // must still fit. Above it moving branches rarely makes a program
    // larger, and each extra form would cost a refusal, which tries every
    // form of its prefixes, a quarter more time.
    if (is_fallback(form) && moved && fit_within > kXtBpfMaxInstructions) continue;
    auto& ready = form.window_shortcut ? with_shortcut : without_shortcut;
    if (!ready) ready = joined(members, form.window_shortcut);
    std::optional<ir::Program> shaped = shape_form(*ready, form, options_, describe(i, form, false));
    if (!shaped) continue;
    // As before the forms with late-version-word and widen-masks, which
    // must not keep the fallbacks from a program that fits no other form.
    moved = moved || (form.order_versions && !form.widen_masks && !form.late_version_word);
    if (last_use && !options_.observe_passes) {
      // The form's IR holds what code generation needs; the joined program
      // and the lowerings behind it are let go first (a later form joins
      // and lowers again). Not while the passes are observed (--print-ir),
      // which would report the lowering twice.
      with_shortcut.reset();
      without_shortcut.reset();
      for (std::size_t m : members) forget(m);
    }
    // Behind Ethernet each form is tried first with a copy of the branches
    // per 802.1Q layout: its reads at fixed offsets need no X, nor scratch
    // memory for what X's next use would lose, and let jump threading go
    // past the branches a frame has already failed. It is larger, and far
    // faster; if it does not fit, the reads are indexed by where the
    // framing found the IP header. Both finish the same shaped form.
    for (bool tag_copies : {true, false}) {
      if (tag_copies && (probe || !options_.copy_per_tag || !copies_apply(options_))) continue;
      // Without keep_ir, code generation takes the form's IR and lets it
      // go once walked; what is kept of it below has no branches. The
      // shaped form, whose conditions the IR shares, goes with it (for
      // thousands of signatures, megabytes at code generation's peak): if
      // the copies do not fit, the form is shaped again from the lowering.
      bool give_ir = last_use && !options_.keep_ir && !options_.observe_passes;
      if (!shaped) shaped = shape_form(joined(members, form.window_shortcut), form, options_, describe(i, form, false));
      bool keep_shaped = tag_copies && !give_ir;
      ir::Program ir = finish_form(keep_shaped ? *shaped : std::move(*shaped), options_, describe(i, form, tag_copies),
                                   tag_copies);
      if (!keep_shaped) shaped.reset();
      CodegenOptions codegen = codegen_options(options_);
      codegen.size_budget = fit_within;
      BpfProgram program = give_ir ? generate(std::move(ir), codegen) : generate(ir, codegen);
      std::size_t size = program.instructions.size();
      if (!smallest || size < smallest->second.instructions.size()) {
        smallest.emplace(std::move(ir), std::move(program));
      }
      bool enough = fit_within == 0 || !options_.optimize || size <= fit_within;
      if (enough) return std::move(*smallest);
    }
  }
  return std::move(*smallest);
}

ir::Program ProgramBuilder::first_form_ir(const std::vector<std::size_t>& members) {
  // The first form that differs from the next: the sixth (nothing moved,
  // nothing shared), in the selection's order, always exists.
  ir::Program program = joined(members, true);
  for (std::size_t i = 0;; ++i) {
    if (std::optional<ir::Program> ir = run_form_passes(program, kForms[i], options_, "program")) return *ir;
  }
}

}  // namespace p0fbpf
