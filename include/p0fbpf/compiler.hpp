// The whole pipeline in one call: signature texts -> AST -> IR -> BPF. The
// library's compiler API; the passes and their order are inside it
// (src/pipeline.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "p0fbpf/bpf_program.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/nft.hpp"
#include "p0fbpf/types.hpp"

namespace p0fbpf {

namespace ir {
struct Program;  // the compiler's intermediate form, internal; ir_text prints it
}

// What a pass did (p0fbpf --print-ir).
struct PassReport {
  std::string_view pass;       // one of pass_names()
  std::string_view scope;      // what it ran on: "signature 2", "program", "form 3 (...)"
  bool changed;                // the program differs from the pass's input
  const ir::Program& before;   // the pass's input (empty for lower)
  const ir::Program& program;  // after the pass
};
using PassObserver = std::function<void(const PassReport&)>;

// Every pass, in the order it runs.
const std::vector<std::string_view>& pass_names();

// The IR as text, one branch per block (what --print-ir shows).
std::string ir_text(const ir::Program& program);

struct CompileOptions {
  MatchMode mode = MatchMode::Exact;
  Direction direction = Direction::Request;
  LinkLayer link;
  // Accept what the signatures do not match. Behind a link header (tc,
  // packet sockets) that is only the TCP SYNs (SYN+ACKs with
  // Direction::Response) they do not match: syn_gate is implied there, so
  // that no hook drops ARP, neighbour discovery or established connections
  // for want of a match. With LinkType::Raw, xt_bpf's rule restricts it to
  // SYNs (-p tcp --syn); a raw program for another hook (tc on an L3
  // device) sets syn_gate.
  bool negate = false;
  std::uint32_t accept_value = kAcceptWholePacket;  // what a matching packet returns
  // Return the first matching signature's index plus one instead of
  // accept_value, so that a caller (the XDP program's counters) can tell
  // which signature matched. Signatures then share no branches. Not with
  // `negate`.
  bool verdict_per_signature = false;
  // Decide only about TCP SYNs of the direction: the program first checks
  // that the packet is one (IPv4 unfragmented or IPv6 without extension
  // headers) and returns not_syn_verdict for every other packet. Implied by
  // `negate` behind a link header; XDP programs use it to count the SYNs
  // they see.
  bool syn_gate = false;
  std::uint32_t not_syn_verdict = 0;
  std::optional<int> ip_version;  // keep only what matches this IP version (4 or 6)
  bool optimize = true;           // false: -O0, the program as lowered
  // Code generation threads jumps past tests their path already decided
  // (src/backend/classic/jump_threading.hpp). False: the program as it was
  // before threading, for the tests and benchmarks that compare the two.
  bool thread_jumps = true;
  // Code generation turns chains of compares of one value into search
  // trees (src/backend/classic/compare_trees.hpp). False: the program
  // without them, for the tests and benchmarks that compare the two.
  bool balance_compares = true;
  // On raw IP, a program with branches of both IP versions starts by telling
  // them apart (src/backend/classic/codegen.hpp). False: it does not, for
  // the tests and benchmarks that compare the two.
  bool version_split = true;
  // Behind a link header, IPv6 branches check their second word before
  // their first (src/passes/late_version_word.hpp). False: they do not, for
  // the tests and benchmarks that compare the two.
  bool late_version_word = true;
  // Behind Ethernet, the fastest program that fits copies each branch for
  // untagged and 802.1Q-tagged frames (src/passes/link.hpp copy_per_tag).
  // False: every program reads through X where the framing found the IP
  // header, for the benchmarks that compare the two.
  bool copy_per_tag = true;
  // Behind Ethernet, a program without copies works out where the IP header
  // lies once, before its branches (src/passes/link.hpp frame_once), rather
  // than in each branch. False: in each, as XDP programs do (the kernel's
  // verifier limits are measured on those), and for the tests that compare
  // the two.
  bool frame_once = true;
  // The program's comment per instruction (BpfProgram::comments), which
  // the listings print. False: none (an empty vector), for callers that
  // only load the program; it is then smaller to make.
  bool comments = true;
  // Compilation::ir holds the IR the program was generated from. False: code
  // generation takes the whole selection's IR and lets it go before its
  // jumps are laid out, and Compilation::ir keeps none of its branches
  // (ir_text and can_match() see none), for callers that only load the
  // program (xdp attach, pin).
  bool keep_ir = true;
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
  // What refuse_over's diagnostic adds after "more than the N allowed" (the
  // limit's reason), and its help; empty: a classic program's limit, and
  // --split.
  std::string refuse_over_reason;
  std::string refuse_over_help;
  // With refuse_over: measure the doubling prefixes before checking every
  // signature, so that a selection far over the limit is refused in the
  // time its largest fitting prefix takes, not the time the whole selection
  // takes to check (errors and warnings after the prefix that is over then
  // go unreported).
  bool refuse_before_checking = false;
  // Every pass's output is checked for malformed IR, which throws
  // std::logic_error naming the pass: for tests, which all turn it on.
  bool verify_each_pass = false;
  // Called after every pass, e.g. to print the IR.
  PassObserver observe_passes;
};

struct Compilation {
  std::optional<BpfProgram> program;  // absent if any signature had an error
  // The IR the program was generated from (for ir_text, and for the tests,
  // which look inside). Set by compile().
  std::shared_ptr<const ir::Program> ir;
  std::vector<SourcedDiagnostic> diagnostics;  // errors and warnings, in input order
  // Refused by refuse_over: the last diagnostic says how many of the first
  // signatures already need how many instructions (on the last of them).
  bool oversize = false;

  bool ok() const { return program.has_value(); }
  // Some branch survived lowering and the passes: the program can accept a
  // packet (without `negate`). False when every signature is impossible,
  // e.g. for the IP version chosen.
  bool can_match() const;
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

// -f nft: the nftables file for the sources (`names[i]` is source i's
// label, or its text). From the options: mode, direction, negate and
// optimize count; the link is always the IP header. A signature nft cannot
// express exactly is an error on that signature.
NftRuleset compile_nft(const std::vector<SignatureSource>& sources, const std::vector<std::string>& names,
                       const CompileOptions& options, const NftOptions& nft);

// The program of an empty selection: it accepts no packet (every packet,
// negated).
BpfProgram empty_program(const CompileOptions& options);

// libpcap's verdict on a program (bpf_validate).
bool is_valid(const BpfProgram& program);

// Gives the pages malloc keeps free back to the system (glibc's
// malloc_trim): compiling a large selection leaves megabytes of freed,
// scattered memory resident, which what a caller does next (translating
// and loading the program) would otherwise add to the process's peak.
void release_compiler_memory();

}  // namespace p0fbpf
