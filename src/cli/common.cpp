#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/quirks.hpp"

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

std::string quirks_help() {
  std::string out = "\nQuirks (the seventh field, comma-separated):\n";
  for (const QuirkFacts& quirk : kQuirks) {
    out += fmt::format("  {:<7}  {}{}\n", quirk.name, quirk.help, quirk.loose_only ? " (--loose only)" : "");
  }
  return out;
}

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
  options.mode = loose ? MatchMode::Loose : MatchMode::Exact;
  options.direction = response ? Direction::Response : Direction::Request;
  options.negate = negate;
  options.optimize = optimize != 0;
  return options;
}

void refuse_over_kernel_limit(CompileOptions& options, KernelProgram kind) {
  KernelLimit limit = kernel_limit(kind);
  options.refuse_over = limit.classic_instructions;
  options.refuse_before_checking = true;
  options.refuse_over_reason =
      fmt::format(" for {} ({}: about {} signatures)", limit.program, limit.reason, limit.signatures);
  options.refuse_over_help = "select fewer signatures (--label), or split the selection over several programs";
  // The verifier's limit is measured on XDP programs that copy their
  // branches per 802.1Q layout or frame each branch; one framed once reads
  // through X everywhere, and costs the verifier more per instruction
  // (1,500 generated signatures, within the limit: E2BIG after 12 s).
  if (kind == KernelProgram::Xdp) options.frame_once = false;
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

std::optional<BpfProgram> compile_checked(const std::vector<SignatureSource>& sources, const CompileOptions& options) {
  Compilation compiled = compile(sources, options);
  if (!report(compiled)) return std::nullopt;
  if (!is_valid(*compiled.program)) {
    fmt::print(stderr, "p0fbpf: internal error: libpcap's bpf_validate rejects a program\n");
    return std::nullopt;
  }
  return std::move(*compiled.program);
}

std::string printable_lines(std::string_view text) {
  std::string out;
  for (std::size_t start = 0; start <= text.size();) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out += printable(text.substr(start, end - start));
    if (end < text.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

void print_error(std::string_view message) { fmt::print(stderr, "p0fbpf: error: {}\n", printable_lines(message)); }

std::unique_ptr<SystemLock> take_system_lock() {
  // Longer than the slowest run it may wait for: the kernel's verifier
  // takes up to about 90 s for an XDP program of 1,000 signatures.
  static constexpr int kPatienceSeconds = 300;
  auto lock = std::make_unique<SystemLock>(kSystemLockPath, std::chrono::seconds(kPatienceSeconds), [] {
    fmt::print(stderr, "p0fbpf: waiting (at most {} s) for another p0fbpf run to finish (lock {})\n",
               kPatienceSeconds, kSystemLockPath);
  });
  if (lock->failed()) {
    print_error(lock->error());
    return nullptr;
  }
  return lock;
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

void Progress::live(std::size_t done, std::chrono::steady_clock::duration elapsed) {
  if (!enabled_ || (shown_ && elapsed - last_ < std::chrono::milliseconds(200))) return;
  last_ = elapsed;
  fmt::print(stderr, "\r\033[K{} {} packets, {:.1f} s (Ctrl-C ends it)", what_, done,
             std::chrono::duration<double>(elapsed).count());
  shown_ = true;
}

void Progress::show(std::size_t done) {
  fmt::print(stderr, "\r{} {} packets...", what_, done);
  shown_ = true;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') out += {'\\', c};
    else if (byte < 0x20 || byte >= 0x7f) out += fmt::format("\\u{:04x}", byte);
    else out += c;
  }
  return out + "\"";
}

}  // namespace p0fbpf::cli
