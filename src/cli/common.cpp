#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"

namespace p0fbpf::cli {
namespace {

std::string trim(const std::string& text) {
  const char* space = " \t\r\n\v\f";
  auto begin = text.find_first_not_of(space);
  if (begin == std::string::npos) return {};
  auto end = text.find_last_not_of(space);
  return text.substr(begin, end - begin + 1);
}

}  // namespace

void CompileFlags::add_to(CLI::App& app, const char* negate_help) {
  signature_option = app.add_option("signature", signatures, "p0f signatures, or - to read them from standard input")
                         ->type_name("SIGNATURE");
  app.add_flag("-n,--negate", negate, negate_help);
  app.add_option("-O", optimize, "optimization level: -O1 (default) merges and shares checks, and one branch "
                                 "serves both IP versions where that makes the program fit; -O0 keeps the "
                                 "program as lowered")
      ->type_name("LEVEL")
      ->check(CLI::IsMember({0u, 1u}));
  app.add_flag_callback("--no-optimize", [this] { optimize = 0; }, "the same as -O0");
  app.add_flag("--loose", loose, "check only the fields a signature names, like bpftools");
  app.add_flag("--response", response, "SYN+ACK signatures (p0f.fp [tcp:response]) instead of SYN ones");
}

CompileOptions CompileFlags::options() const {
  CompileOptions options;
  options.lower.mode = loose ? MatchMode::Loose : MatchMode::Exact;
  options.lower.direction = response ? Direction::Response : Direction::Request;
  options.codegen.negate = negate;
  options.optimize = optimize != 0;
  return options;
}

std::optional<std::vector<SignatureSource>> read_signatures(const std::vector<std::string>& arguments) {
  std::vector<SignatureSource> sources;
  for (const std::string& argument : arguments) {
    if (argument != "-") {
      sources.push_back({argument, ""});
      continue;
    }
    // One signature a line; '#' to the end of a line is a comment.
    std::string line;
    int number = 0;
    while (std::getline(std::cin, line)) {
      ++number;
      if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
      std::string text = trim(line);
      if (!text.empty()) sources.push_back({text, fmt::format("<stdin>:{}", number)});
    }
  }
  if (sources.empty()) {
    fmt::print(stderr, "p0fbpf: error: no signature given\nRun 'p0fbpf --help' for usage.\n");
    return std::nullopt;
  }
  return sources;
}

bool report(const Compilation& compilation) {
  for (const auto& diagnostic : compilation.diagnostics) fmt::print(stderr, "{}", diagnostic.render());
  return compilation.ok();
}

std::optional<OpenCapture> open_capture(const std::string& path) {
  auto capture = Capture::open(path);
  if (!capture) {
    fmt::print(stderr, "p0fbpf: error: {}\n", capture.error().message);
    return std::nullopt;
  }
  std::optional<LinkLayer> link = link_for_capture((*capture)->datalink());
  if (!link) {
    fmt::print(stderr,
               "p0fbpf: error: {}: link type {} is not supported\n"
               "  help: p0fbpf reads Ethernet, raw IP, Linux cooked (SLL) and BSD loopback captures\n",
               path, (*capture)->datalink_name());
    return std::nullopt;
  }
  return OpenCapture{*capture, *link};
}

std::size_t read_records(Capture& capture, const char* activity, const char* done,
                         const std::function<void(const CaptureRecord&)>& visit) {
  std::string problem;
  std::size_t total;
  {
    Progress progress(activity);
    std::size_t seen = 0;
    total = capture.for_each(
        [&](const CaptureRecord& record) {
          visit(record);
          progress.tick(++seen);
        },
        problem);
  }
  if (!problem.empty()) {
    fmt::print(stderr, "p0fbpf: warning: {}; the {} records before it were {}\n", problem, total, done);
  }
  return total;
}

bool write_stdout(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0) return true;
  fmt::print(stderr, "p0fbpf: error: cannot write standard output: {}\n", std::strerror(errno));
  return false;
}

bool close_stdout(bool report) {
  errno = 0;
  bool flushed = std::fflush(stdout) == 0;
  bool clean = std::ferror(stdout) == 0;
  int error = errno;
  bool closed = std::fclose(stdout) == 0;
  if (!error) error = errno;
  if (flushed && clean && closed) return true;
  if (report) fmt::print(stderr, "p0fbpf: error: cannot write standard output{}{}\n", error ? ": " : "",
             error ? std::strerror(error) : "");
  return false;
}

bool Progress::on_terminal() { return isatty(STDERR_FILENO) != 0; }

Progress::Progress(const char* what) : what_(what), enabled_(on_terminal()) {}

Progress::~Progress() {
  if (shown_) fmt::print(stderr, "\r\033[K");
}

void Progress::show(std::size_t done) {
  fmt::print(stderr, "\r{} {} packets...", what_, done);
  shown_ = true;
}

}  // namespace p0fbpf::cli
