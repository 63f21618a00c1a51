// The compiler's passes in the order they run, in one place: a signature is
// lowered and prepared alone, the selection's branches are joined and shared,
// and then each form a program can take is finished and generated until one
// fits. compile() and compile_split() (compiler.hpp) decide which signatures
// go into a program; this is how each program is made.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>
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

// 2. The members' branches in order, then share-branches.
ir::Program run_program_passes(const std::vector<const std::vector<ir::Branch>*>& per_member,
                               const CompileOptions& options);

// A form a program can take (see kForms in pipeline.cpp).
struct Form {
  bool share_versions;   // one branch for both IP versions
  bool window_shortcut;  // lowered with the window shortcut (LowerOptions)
};

// 3. A joined program finished in `form`: guard-reads, share-versions,
// drop-last-guards, resolve-link-base. nullopt when the form is the same as
// one without share_versions (nothing to share).
std::optional<ir::Program> run_form_passes(const ir::Program& program, Form form, const CompileOptions& options,
                                           std::string_view scope);

// 4. The search over forms, fastest first: the first whose program has at
// most fit_within instructions (0: the first), or else the smallest.
// `prepared(window_shortcut)` is the joined program lowered that way.
std::pair<ir::Program, BpfProgram> fastest_form(const std::function<ir::Program(bool window_shortcut)>& prepared,
                                                const CompileOptions& options, std::size_t fit_within);

}  // namespace p0fbpf
