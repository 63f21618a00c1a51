// The p0fbpf command line: one function per command, sharing how compile
// options are declared and read.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <signal.h>

#include <CLI/CLI.hpp>

#include "p0fbpf/capture.hpp"
#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"
#include "p0fbpf/kernel_limits.hpp"
#include "p0fbpf/system_lock.hpp"

namespace p0fbpf::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNoMatch = 1;
inline constexpr int kExitError = 2;

// The options every command that compiles signatures takes.
struct CompileFlags {
  std::vector<std::string> signatures;
  unsigned optimize = 1;
  bool negate = false;
  bool loose = false;
  bool response = false;

  void add_to(CLI::App& app, const char* negate_help);
  CLI::Option* signature_option = nullptr;
  CompileOptions options() const;
};

// Sets options.refuse_over (and its diagnostic) to the kernel's limit for
// `kind`: a selection over it is refused before anything is loaded.
void refuse_over_kernel_limit(CompileOptions& options, KernelProgram kind);

// Signatures from the arguments, '-' reading standard input; nullopt (after
// saying why on stderr) when there are none.
std::optional<std::vector<SignatureSource>> read_signatures(const std::vector<std::string>& arguments);

// The labels of a database that DatabaseFlags::select chose; they point
// into `database`.
struct SelectedLabels {
  std::string path;  // the database's file
  Database database;
  std::vector<const DatabaseLabel*> labels;
};

// -F and --label: signatures from a p0f database.
struct DatabaseFlags {
  std::string fp_file;
  std::optional<std::string> label;

  void add_to(CLI::App& app);
  // -F alone, for a command that reads the whole database.
  void add_file_to(CLI::App& app, const char* help);
  bool given() const { return label || !fp_file.empty(); }
  // -F's, or the first of default_database_paths() that exists; nullopt
  // after naming every path tried.
  std::optional<std::string> path() const;
  // The labels --label matches (all without it) in `direction` (both if
  // nullopt); nullopt after saying why.
  std::optional<SelectedLabels> select(std::optional<Direction> direction) const;
};

// The database in a file, its diagnostics printed; nullopt after an error.
std::optional<Database> load_database(const std::string& path);

// Where p0fbpf's own database is looked for without -F, in order: beside
// the executable as installed (BIN/../share/p0fbpf/p0fbpf.fp), the copy the
// build places beside the build tree's binary, the configured install path.
std::vector<std::string> default_database_paths();
std::optional<std::string> find_default_database();

// The signatures to compile, each with a name for comments and reports.
struct Selection {
  std::vector<SignatureSource> sources;
  std::vector<std::string> names;  // per source: its label, or the signature itself
};

// The arguments' signatures, then those of the database labels selected for
// `direction`; nullopt (after saying why) if that is none, or a label
// pattern matches no label.
std::optional<Selection> read_selection(const std::vector<std::string>& arguments, const DatabaseFlags& database,
                                        Direction direction);

// What an XDP program's verdicts 1, 2, ... stand for (compiled with
// CodegenOptions::verdict_per_signature unless negated): "label: signature"
// per source, or the signature alone.
std::vector<std::string> verdict_names(const Selection& selection, bool negate);

// The quirks and what each means, for --help.
std::string quirks_help();

// Prints every diagnostic; false if any is an error.
bool report(const Compilation& compilation);

// The sources compiled into one program (no size limit unless the options
// set one), its diagnostics printed, the program checked with libpcap's
// bpf_validate; nullopt after an error.
std::optional<BpfProgram> compile_checked(const std::vector<SignatureSource>& sources, const CompileOptions& options);

// A capture p0fbpf can read and its link layer; nullopt after saying why.
struct OpenCapture {
  std::shared_ptr<Capture> capture;
  LinkLayer link;
};
// "-" reads standard input.
std::optional<OpenCapture> open_capture(const std::string& path);

// -i, -c, --seconds, --buffer-size (and -w, where it keeps what was
// captured): a live capture instead of -r's file.
struct LiveFlags {
  std::optional<std::string> device;
  std::optional<std::size_t> packets;
  std::optional<double> seconds;
  std::optional<int> buffer_kib;
  std::optional<std::string> write;  // -w, for the commands whose -w keeps the capture

  // `keep_option`: add -w as "keep what was captured".
  void add_to(CLI::App& app, bool keep_option);
  bool given() const { return device.has_value(); }
  // Exactly one of -r (`read`: whether it was given) and -i; -c, --seconds,
  // --buffer-size (and -w, if this has it) only with -i. False after saying
  // why.
  bool check(const char* command, bool read) const;
  // The capture -i names; nullopt after saying why.
  std::optional<OpenCapture> open(Direction direction) const;
};

// What read_records read.
struct RecordsRead {
  std::size_t records = 0;
  // A live capture failed (its device went away) after `records`: print
  // the result for them, then exit 2.
  bool failed = false;
  std::optional<CaptureStats> stats;  // a live capture's, at its end
};

// Every record of the capture, with progress on a terminal; a damaged record
// is reported ("the N records before it were `done`") and ends the reading.
// Returns what was read, or nullopt after an error: the first record is
// damaged, or the capture is a pcapng libpcap cannot read (its interfaces
// differ in link type or snapshot length). A live capture runs until its
// count or time, or SIGINT, SIGTERM or SIGHUP, which end it as its end
// would; then libpcap's counts go to stderr, saying whether packets were
// dropped.
std::optional<RecordsRead> read_records(Capture& capture, const char* activity, const char* done,
                                        const std::function<void(const CaptureRecord&)>& visit);

// libpcap's counts as JSON members: "capture": {...}, or nothing for a file.
std::string json_capture_stats(const Capture& capture, const RecordsRead& read);

// While a file is written to a temporary name: SIGINT, SIGTERM and SIGHUP
// remove the temporary file, then end the process as they would have.
// Signals the process ignores stay ignored. Blocks them from construction
// to unblock(), so that none arrives between the temporary's creation and
// arm(). (During a live capture's reading, read_records makes them end the
// capture instead, and puts these back after.)
class RemoveOnSignal {
 public:
  RemoveOnSignal();
  ~RemoveOnSignal() { disarm(); }
  RemoveOnSignal(const RemoveOnSignal&) = delete;
  RemoveOnSignal& operator=(const RemoveOnSignal&) = delete;

  // Returns false if the path is too long to keep (then nothing is armed).
  bool arm(const std::string& path);
  void block();
  void unblock();
  // The previous actions back; a signal that came while blocked is
  // delivered now, with them.
  void disarm();

 private:
  static constexpr std::size_t kSignals = 3;
  sigset_t set_;
  sigset_t old_mask_;
  struct sigaction old_actions_[kSignals] {};
  bool installed_[kSignals] = {};
};

// -w FILE: records written to a capture that replaces FILE only once
// complete ("-": standard output), the temporary file removed on a signal
// or an error.
class KeptRecords {
 public:
  // Nothing to do for nullptr; false after saying why (also when the path
  // is standard output's and `allow_stdout` is not set).
  bool open(const std::string* path, const Capture& like, bool allow_stdout = false);
  bool writing() const { return writer_ != nullptr; }
  // False once writing has failed: stop the capture.
  bool write(const CaptureRecord& record) { return writer_->write(record); }
  // Renames the file into place; false after saying why.
  bool close();
  bool to_stdout() const { return to_stdout_; }

 private:
  std::optional<RemoveOnSignal> guard_;  // destroyed after the writer
  std::shared_ptr<CaptureWriter> writer_;
  std::string path_;
  bool to_stdout_ = false;
};

// `text` as a JSON string: quotes and backslashes escaped, bytes outside
// printable ASCII as \u escapes.
std::string json_string(std::string_view text);

// "p0fbpf: error: MESSAGE" on stderr, each line of a message of several
// lines ("...\n  help: ...") made safe for a terminal, the newlines kept.
void print_error(std::string_view message);
std::string printable_lines(std::string_view text);

// The lock of every command that changes the system (SystemLock, waiting
// at most a minute, saying so on stderr); null after printing why not.
std::unique_ptr<SystemLock> take_system_lock();

// Writes and flushes `text`; false (after saying why on stderr) if any of it
// was lost.
bool write_stdout(std::string_view text);

// Flushes and closes standard output; false if anything written to it was
// lost, after saying why on stderr if `report`.
bool close_stdout(bool report);

// Where the rules of a selection go and what they do: the hook, the
// iptables chain or nft table, the target, counting only, a rate, the
// destinations, tc's device, direction and priority, a pinned program.
// The compiler's command takes them, and suggest passes them on to it.
struct DeployFlags {
  std::string hook = "iptables";
  std::string table = "p0fbpf";       // -f nft
  std::optional<std::string> chain;   // iptables: INPUT
  std::optional<std::string> target;  // iptables: DROP; tc: drop
  bool count_only = false;
  std::optional<std::string> rate;  // N/s
  std::vector<std::string> destinations;
  std::string ipset;
  std::optional<std::string> pinned;  // DIR: one pinned program for all rules
  std::string device;
  std::optional<std::string> direction;  // tc: kTcDirection
  std::optional<unsigned> priority;       // tc: kTcPriority

  static constexpr const char* kTcDirection = "ingress";
  static constexpr unsigned kTcPriority = 3056;

  void add_to(CLI::App& app);
  // Whether any was given.
  bool given() const {
    return hook != "iptables" || table != "p0fbpf" || chain || target || count_only || rate || !destinations.empty() ||
           !ipset.empty() || pinned || !device.empty() || direction || priority;
  }
};

struct CompileCommand {
  CompileFlags flags;
  std::string format = "iptables";
  std::optional<std::string> link;  // raw, or ether for -f xdp
  std::string name = "p0fbpf";        // -f xdp
  std::optional<unsigned> l3_offset;
  unsigned max_instructions = 0;
  DatabaseFlags database;
  bool list = false;
  bool split = false;
  DeployFlags deploy;
  // Checks the options and stops, exit 0, before reading the selection: for
  // a command that compiles later, after minutes of capturing (suggest -f).
  bool check_only = false;
  // --print-ir: "true" (every pass), or "after-PASS".
  std::optional<std::string> print_ir;

  void add_to(CLI::App& app);
  int run() const;
};

struct TestCommand {
  CompileFlags flags;
  DatabaseFlags database;
  LiveFlags live;
  std::vector<std::string> inputs;
  CLI::Option* read_option = nullptr;
  std::string output;
  CLI::Option* output_option = nullptr;  // given, even empty

  void add_to(CLI::App& app);
  int run() const;
};

struct FingerprintCommand {
  std::string input;
  CLI::Option* read_option = nullptr;
  LiveFlags live;
  DatabaseFlags database;  // -F only: the database whose labels name the signatures
  bool response = false;
  std::size_t top = 0;
  bool json = false;

  void add_to(CLI::App& app);
  int run() const;
};

// p0fbpf convert --from muonfp|satori STRING...: p0f signatures from
// strings of other formats, one per line, all or nothing.
struct ConvertCommand {
  std::string from;
  std::vector<std::string> strings;

  void add_to(CLI::App& app);
  int run() const;
};

// p0fbpf xdp attach|stats|detach DEVICE, xdp list|prune: the XDP program on a device,
// loaded without a compiler.
struct XdpCommand {
  CompileFlags flags;
  DatabaseFlags database;
  std::string device;
  std::string mode = "auto";
  bool count_only = false;
  std::string bpffs = "/sys/fs/bpf";
  bool json = false;
  bool prometheus = false;
  std::optional<double> watch;  // seconds between refreshes
  CLI::App* attach_app = nullptr;
  CLI::App* stats_app = nullptr;
  CLI::App* detach_app = nullptr;
  CLI::App* list_app = nullptr;
  CLI::App* prune_app = nullptr;

  void add_to(CLI::App& app);
  int run() const;
};

// p0fbpf pin PATH SIGNATURE...: an eBPF socket filter in bpffs, for
// iptables -m bpf --object-pinned PATH.
struct PinCommand {
  CompileFlags flags;
  DatabaseFlags database;
  std::string path;

  void add_to(CLI::App& app);
  int run() const;
};

// p0fbpf suggest -r ATTACK [--baseline NORMAL]: a few exact signatures that
// catch the attack's SYNs and spare the baseline's.
struct SuggestCommand {
  std::string attack;
  CLI::Option* read_option = nullptr;
  LiveFlags live;
  std::vector<std::string> baselines;
  std::size_t max_signatures = 4;
  double max_collateral = 0;
  bool response = false;
  bool json_output = false;
  bool best_effort = false;
  std::optional<std::string> format;
  DeployFlags deploy;  // with -f: passed on to the compiler
  std::string fp_file;

  void add_to(CLI::App& app);
  int run() const;
};

// Progress on stderr for long runs, only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(const char* what);
  ~Progress();
  static bool on_terminal();
  void tick(std::size_t done) {
    if (enabled_ && (done & 0xffff) == 0) show(done);
  }
  // A live capture's line: packets so far and the time since it began,
  // at most five times a second.
  void live(std::size_t done, std::chrono::steady_clock::duration elapsed);

 private:
  void show(std::size_t done);
  std::chrono::steady_clock::duration last_{};
  const char* what_;
  bool enabled_;
  bool shown_ = false;
};

}  // namespace p0fbpf::cli
