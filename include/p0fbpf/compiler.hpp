// The whole pipeline in one call: signature texts -> AST -> IR -> BPF.
// The passes and their order are in pipeline.hpp.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/codegen.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/ir.hpp"
#include "p0fbpf/types.hpp"
#include "p0fbpf/lower.hpp"
#include "p0fbpf/pipeline.hpp"

namespace p0fbpf {

struct SignatureSource {
  std::string text;
  std::string origin;  // where it came from, e.g. "<stdin>:3"; empty for an argument
};

struct CompileOptions {
  LowerOptions lower;
  LinkLayer link;
  CodegenOptions codegen;
  std::optional<int> ip_version;  // keep only what matches this IP version (4 or 6)
  bool optimize = true;           // false: -O0, the program as lowered
  // 0: the fastest program. Otherwise the fastest one within this many
  // instructions, trying smaller forms (one branch for both IP versions, a
  // shorter window check) until one fits; the smallest if none does.
  std::size_t fit_within = 0;
  // 0: off. Otherwise compile() makes no program when the selection needs
  // more than this many instructions even in its smallest form (fit_within
  // is then at most this). Growing prefixes of the selection (1, 2, 4, ...
  // signatures) are compiled first, so that a selection far over the limit
  // is refused after compiling about twice what the limit holds, not all of it.
  std::size_t refuse_over = 0;
  // Every pass's output goes through ir::verify, and a malformed one throws
  // std::logic_error naming the pass: for tests, which all turn it on.
  bool verify_each_pass = false;
  // Called after every pass (see pipeline.hpp), e.g. to print the IR.
  PassObserver observe_passes;
};

// A diagnostic together with the text its span points into.
struct SourcedDiagnostic {
  Diagnostic diagnostic;
  SignatureSource source;

  std::string render() const { return p0fbpf::render(diagnostic, source.text, source.origin); }
};

struct Compilation {
  std::optional<BpfProgram> program;  // absent if any signature had an error
  ir::Program ir;  // after the link pass
  std::vector<SourcedDiagnostic> diagnostics;  // errors and warnings, in input order
  // Refused by refuse_over: the last diagnostic says how many of the first
  // signatures already need how many instructions (on the last of them).
  bool oversize = false;

  bool ok() const { return program.has_value(); }
};

// Compiles all signatures into one program that accepts a packet matching any
// of them. Every signature is checked, so all errors are reported at once.
Compilation compile(const std::vector<SignatureSource>& sources, const CompileOptions& options);

// Programs that together accept what the signatures accept, each at most
// `limit` instructions: signatures stay whole and in order, and share a
// program while they fit. Fails when one signature alone is too large (the
// diagnostic is on it) or when any signature has an error.
struct SplitCompilation {
  std::vector<BpfProgram> programs;
  std::vector<std::vector<std::size_t>> members;  // indexes into the sources, per program
  std::vector<SourcedDiagnostic> diagnostics;
  bool ok = false;
  bool too_large = false;  // failed because one signature alone is over the limit
};
SplitCompilation compile_split(const std::vector<SignatureSource>& sources, const CompileOptions& options,
                               std::size_t limit);

// libpcap's verdict on a program (bpf_validate).
bool is_valid(const BpfProgram& program);

}  // namespace p0fbpf
