// The compiler's passes in the order they run, in one place: a signature is
// lowered and prepared alone (1), the selection's branches are joined and
// shared (2), and then each form a program can take is finished (3) and
// generated until one fits (4, ProgramBuilder). compile() and
// compile_split() (compiler.cpp) decide which signatures go into a program;
// this is how each program is made, and a call comes back with it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "backend/classic/codegen.hpp"
#include "ir/ir.hpp"
#include "passes/lower.hpp"
#include "p0fbpf/ast.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/diagnostic.hpp"

namespace p0fbpf {

// What the passes need of the caller's options.
LowerOptions lower_options(const CompileOptions& options, bool window_shortcut);
CodegenOptions codegen_options(const CompileOptions& options);

// The program with the SYN gate in front (syn_gate.hpp), framed for the
// link, when `negate` or `syn_gate` asks for one; otherwise as it is.
ir::Program with_gate(ir::Program program, const CompileOptions& options);

// 1. One signature alone: lower, ip-version, link, merge-checks,
// drop-implied-lengths. The branches can be kept and joined into every
// program the signature goes into. `window_shortcut` false lowers without
// the shortcut. `scope` names it in reports.
Result<Lowered> run_signature_passes(const Signature& signature, bool window_shortcut, const CompileOptions& options,
                                     std::string_view scope);

// The nft form (src/backend/nft/): one signature through the passes of 1
// with the program read from the IP header on (--link raw, whatever the
// options' link), which is where nft's @nh offsets count from. None of the
// later passes: nft rules are per signature, and the passes of 3 shape
// classic BPF (shared versions, read guards, indexed reads).
Result<Lowered> run_nft_passes(const Signature& signature, const CompileOptions& options, std::string_view scope);

// 2. The members' branches in order, then share-branches.
ir::Program run_program_passes(const std::vector<const std::vector<ir::Branch>*>& per_member,
                               const CompileOptions& options);

// A form a program can take (see kForms in pipeline.cpp).
struct Form {
  bool share_versions;   // one branch for both IP versions
  bool window_shortcut;  // lowered with the window shortcut (LowerOptions)
  bool order_versions;   // the version with fewer first checks first (order-versions)
  bool group_branches;   // branches that start alike side by side (group-branches)
  bool widen_masks = false;        // first masks widened before grouping (widen-masks)
  bool late_version_word = false;  // behind a link header, IPv6's first word checked late (late-version-word)
};

// 3. A joined program finished in `form`: order-versions,
// late-version-word, widen-masks, group-branches, guard-reads,
// share-versions, drop-last-guards, then resolve-link-base or, with
// `tag_copies`, copy-per-tag. nullopt when the form is the same as one
// without late_version_word (no IPv6 branch behind a link header that
// tells the version, or CompileOptions::late_version_word off), without
// widen_masks (no mask to widen), without group_branches (nothing to
// group, or a verdict per signature, which needs the selection's order),
// without order_versions (nothing to reorder) or without share_versions
// (nothing to share), and with `tag_copies` unless the program is for
// Ethernet, optimized and not negated.
std::optional<ir::Program> run_form_passes(const ir::Program& program, Form form, const CompileOptions& options,
                                           std::string_view scope, bool tag_copies = false);

// 4. Programs of a selection's signatures, named by their index in
// `sources`: each signature through 1 when first needed, per window check
// form, and kept until forget(), so that memory follows the program being
// built rather than the whole selection; the members through 2; then each
// form through 3 and code generation, fastest first.
class ProgramBuilder {
 public:
  ProgramBuilder(const std::vector<SignatureSource>& sources, const CompileOptions& options)
      : sources_(sources), options_(options) {}

  // Parses and lowers the source for the first form, adding its
  // diagnostics; false if it has an error (it then has no branches).
  bool lower_checked(std::size_t source, std::vector<SourcedDiagnostic>& diagnostics);

  // The source's branches after 1, lowered with or without the window
  // shortcut; none if it has an error.
  const std::vector<ir::Branch>& branches(std::size_t source, bool window_shortcut);

  void forget(std::size_t source) { entries_.erase(source); }

  // The members' program in the fastest form within fit_within
  // instructions (0: the first form), or in the smallest if none fits.
  // last_use: the members' lowerings are not needed afterwards, so each
  // form's code is generated without them held (forgotten, and lowered
  // again if a later form is tried), unless the passes are observed.
  // probe: only whether and how the members fit, for refuse_over's growing
  // prefixes: no copy per 802.1Q layout, which is only tried first for
  // speed, and whose fallback decides the fit.
  std::pair<ir::Program, BpfProgram> best(const std::vector<std::size_t>& members, std::size_t fit_within,
                                          bool last_use = false, bool probe = false);

  // The members' IR in the first form, not generated: what a selection with
  // errors has to show.
  ir::Program first_form_ir(const std::vector<std::size_t>& members);

 private:
  struct Entry {
    std::optional<Signature> signature;
    std::optional<std::vector<ir::Branch>> forms[2];  // with, without the window shortcut
  };

  ir::Program joined(const std::vector<std::size_t>& members, bool window_shortcut);
  bool lower_form(std::size_t source, Entry& entry, bool first, std::vector<SourcedDiagnostic>* diagnostics);

  const std::vector<SignatureSource>& sources_;
  const CompileOptions& options_;
  std::unordered_map<std::size_t, Entry> entries_;
};

}  // namespace p0fbpf
