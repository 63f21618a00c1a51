#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/capture.hpp"

namespace p0fbpf::cli {
namespace {

bool same_file(const struct stat& a, const struct stat& b) { return a.st_dev == b.st_dev && a.st_ino == b.st_ino; }

// Whether writing to `output` ("-": standard output) would write to the
// regular file the capture is read from.
bool writes_over_input(const Capture& in, const std::string& output) {
  struct stat read {}, written {};
  FILE* file = in.file();
  if (!file || fstat(fileno(file), &read) != 0 || !S_ISREG(read.st_mode)) return false;
  int found = output == "-" ? fstat(STDOUT_FILENO, &written) : stat(output.c_str(), &written);
  return found == 0 && same_file(read, written);
}

// What testing one capture found.
struct Tested {
  std::size_t matched = 0;
  std::size_t total = 0;
  bool wrote_stdout = false;  // the matches went to standard output (-w -, /dev/stdout)
  bool failed = false;        // a live capture failed after `total` packets
};

// The selection compiled once for each link type the captures have: its
// diagnostics are reported once.
using ProgramsByLink = std::map<std::pair<LinkType, std::uint32_t>, BpfProgram>;

// Tests one capture, writing its matches if `output` is set; nullopt after
// an error.
std::optional<Tested> test_capture(const std::string& input, const std::optional<OpenCapture>& opened,
                                   const Selection& selection, const CompileOptions& compile_options,
                                   const std::string* output, ProgramsByLink& programs) {
  if (!opened) return std::nullopt;
  Capture& in = *opened->capture;
  if (output && writes_over_input(in, *output)) {
    fmt::print(stderr, "p0fbpf: error: -w {} is the capture being read (-r {})\n", *output, input);
    return std::nullopt;
  }
  auto key = std::pair(opened->link.type, opened->link.l3_offset);
  auto known = programs.find(key);
  if (known == programs.end()) {
    CompileOptions options = compile_options;
    options.link = opened->link;
    Compilation compiled = compile(selection.sources, options);
    if (!report(compiled)) return std::nullopt;
    known = programs.emplace(key, *compiled.program).first;
  }
  const BpfProgram& program = known->second;

  KeptRecords kept;
  if (!kept.open(output, in, true)) return std::nullopt;
  Tested tested;
  std::optional<RecordsRead> total = read_records(in, "testing", "tested", [&](const CaptureRecord& record) {
    // The program sees what p0f sees: the captured bytes, no more.
    auto length = static_cast<unsigned>(record.length());
    if (bpf_filter(program.instructions.data(), record.data, length, length) != 0) {
      ++tested.matched;
      if (kept.writing() && !kept.write(record)) in.stop();
    }
  });
  if (!total) return std::nullopt;
  tested.total = total->records;
  tested.failed = total->failed;
  if (!kept.close()) return std::nullopt;
  tested.wrote_stdout = kept.to_stdout();
  return tested;
}

}  // namespace

void TestCommand::add_to(CLI::App& app) {
  read_option = app.add_option("-r,--read", inputs,
                 "a capture to test (pcap or pcapng); - reads it from standard input; several -r test each, "
                 "with a count for each")
      ->allow_extra_args(false)  // -r A -r B SIG: one file each, the rest are signatures
      ->type_name("FILE");
  output_option = app.add_option("-w,--write", output,
                                 "write the matching packets to this pcap file, replaced only once complete; "
                                 "- writes them to standard output (and the count to stderr); one -r only "
                                 "(or -i)")
                      ->type_name("FILE");
  live.add_to(app, false);
  flags.add_to(app, "count (and write) the packets the signatures do not match");
  database.add_to(app);
}

int TestCommand::run() const {
  if (!live.check("test", read_option && read_option->count() > 0)) return kExitError;
  const bool writing = output_option && output_option->count() > 0;
  if (writing && output.empty()) {
    fmt::print(stderr, "p0fbpf: error: -w needs a file name\n  help: -w - writes to standard output\n");
    return kExitError;
  }
  if (writing && inputs.size() > 1) {
    fmt::print(stderr,
               "p0fbpf: error: -w writes the matches of one capture, and {} were given\n"
               "  help: test each capture on its own to write its matches\n",
               inputs.size());
    return kExitError;
  }
  const auto from_stdin = std::count(inputs.begin(), inputs.end(), "-");
  if (from_stdin > 1) {
    fmt::print(stderr, "p0fbpf: error: standard input (-r -) can be read only once\n");
    return kExitError;
  }
  if (from_stdin && std::find(flags.signatures.begin(), flags.signatures.end(), "-") != flags.signatures.end()) {
    fmt::print(stderr,
               "p0fbpf: error: the capture (-r -) and the signatures (-) cannot both be read from standard input\n");
    return kExitError;
  }
  CompileOptions options = flags.options();
  // Whatever the capture's link type, a negated rule decides only about
  // SYNs: through its gate at tc and XDP, through -p tcp --syn in iptables.
  options.syn_gate = options.negate;
  auto selection = read_selection(flags.signatures, database, options.direction);
  if (!selection) return kExitError;

  ProgramsByLink programs;
  std::size_t matched = 0;
  bool wrote_stdout = false;
  std::string counts;
  // -i captures live, as one more capture after none.
  std::vector<std::string> sources = inputs;
  if (live.given()) sources.push_back(*live.device);
  bool failed = false;
  for (const std::string& input : sources) {
    auto opened = live.given() ? live.open(options.direction) : open_capture(input);
    auto tested = test_capture(input, opened, *selection, options, writing ? &output : nullptr, programs);
    if (!tested) return kExitError;
    failed = failed || tested->failed;
    matched += tested->matched;
    wrote_stdout = wrote_stdout || tested->wrote_stdout;
    // One capture keeps the line scripts know; several are told apart.
    if (inputs.size() > 1) fmt::format_to(std::back_inserter(counts), "{}: ", printable(input));
    fmt::format_to(std::back_inserter(counts), "{} of {} packets matched\n", tested->matched, tested->total);
  }
  // With the packets on standard output, the count goes to stderr.
  if (wrote_stdout) fmt::print(stderr, "{}", counts);
  else if (!write_stdout(counts)) return kExitError;
  if (failed) return kExitError;
  return matched > 0 ? kExitOk : kExitNoMatch;
}

}  // namespace p0fbpf::cli
