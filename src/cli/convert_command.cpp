#include <iostream>

#include <fmt/format.h>

#include "commands.hpp"
#include "p0fbpf/convert.hpp"

namespace p0fbpf::cli {

void ConvertCommand::add_to(CLI::App& app) {
  app.add_option("--from", from,
                 "the strings' format: muonfp (WINDOW:OPTIONKINDS:MSS:WSCALE, option kinds in decimal, "
                 "'-'-joined in wire order) or satori (tcpsig WINDOW:TTL:DF:HDRLEN:OPTIONS:QUIRKS)")
      ->required()
      ->check(CLI::IsMember({"muonfp", "satori"}))
      ->type_name("FORMAT");
  app.add_option("strings", strings, "the strings to convert; - reads them from standard input, one per line")
      ->required()
      ->type_name("STRING");
}

int ConvertCommand::run() const {
  const ForeignFormat format = from == "muonfp" ? ForeignFormat::MuonFp : ForeignFormat::Satori;
  std::vector<SignatureSource> sources;
  for (const std::string& s : strings) {
    if (s != "-") {
      sources.push_back({s, ""});
      continue;
    }
    std::string line;
    for (int number = 1; std::getline(std::cin, line); ++number) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == ';' || line[0] == '#') continue;
      sources.push_back({line, fmt::format("<stdin>:{}", number)});
    }
  }
  // All or nothing: a pipe into 'p0fbpf -' gets every signature or none.
  std::string out;
  bool failed = false;
  for (const SignatureSource& source : sources) {
    Result<std::string> converted = convert_signature(source.text, format);
    if (!converted) {
      fmt::print(stderr, "{}", render(converted.error(), source.text, source.origin));
      failed = true;
      continue;
    }
    out += *converted + '\n';
  }
  if (failed) return kExitError;
  return write_stdout(out) ? kExitOk : kExitError;
}

}  // namespace p0fbpf::cli
