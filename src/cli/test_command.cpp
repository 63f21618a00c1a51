#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/capture.hpp"

namespace p0fbpf::cli {

void TestCommand::add_to(CLI::App& app) {
  app.add_option("-r,--read", input, "the capture to test (pcap or pcapng)")->required()->type_name("FILE");
  app.add_option("-w,--write", output, "write the matching packets to this pcap file")->type_name("FILE");
  flags.add_to(app, "count (and write) the packets the signatures do not match");
}

int TestCommand::run() const {
  auto sources = read_signatures(flags.signatures);
  if (!sources) return kExitError;
  auto opened = open_capture(input);
  if (!opened) return kExitError;
  Capture& in = *opened->capture;
  CompileOptions options = flags.options();
  options.link = opened->link;
  Compilation compiled = compile(*sources, options);
  if (!report(compiled)) return kExitError;
  const BpfProgram& program = *compiled.program;

  std::shared_ptr<CaptureWriter> writer;
  if (!output.empty()) {
    auto created = CaptureWriter::open(output, in);
    if (!created) {
      fmt::print(stderr, "p0fbpf: error: {}\n", created.error().message);
      return kExitError;
    }
    writer = *created;
  }

  std::size_t matched = 0;
  std::optional<std::size_t> total = read_records(in, "testing", "tested", [&](const CaptureRecord& record) {
    // The program sees what p0f sees: the captured bytes, no more.
    auto length = static_cast<unsigned>(record.length());
    if (bpf_filter(program.instructions.data(), record.data, length, length) != 0) {
      ++matched;
      if (writer) writer->write(record);
    }
  });
  if (!total) return kExitError;
  std::string problem;
  if (writer && !writer->close(problem)) {
    fmt::print(stderr, "p0fbpf: error: {}\n", problem);
    return kExitError;
  }
  fmt::print("{} of {} packets matched\n", matched, *total);
  return matched > 0 ? kExitOk : kExitNoMatch;
}

}  // namespace p0fbpf::cli
