// Any bytes as a p0f.fp database, the first bytes also choosing the script's
// options: every label the database selects reaches its rule's comment
// sanitised, and the script written for it is valid bash that shellcheck
// finds nothing in (both run on a temporary copy of it).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "p0fbpf/compiler.hpp"
#include "p0fbpf/database.hpp"
#include "p0fbpf/emit.hpp"
#include "p0fbpf/script.hpp"

namespace {

bool safe(std::string_view comment) {
  for (char c : comment) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f || c == '$' || c == '`' || c == '"' || c == '\\' || c == '\'') return false;
  }
  return true;
}

bool passes(const std::string& command) { return std::system(command.c_str()) == 0; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 2, size - 2);
  p0fbpf::DatabaseResult result = p0fbpf::read_database(text, "fuzz.fp");
  auto labels = p0fbpf::select_labels(result.database, "", std::nullopt);
  if (!labels) std::abort();

  p0fbpf::ScriptOptions options;
  const char* chains[] = {"INPUT", "FORWARD", "p0fbpf-in"};
  const char* sets[] = {"", "v4,v6", "inet:v4", "inet6:v6"};
  options.chain = chains[data[0] % 3];
  options.target = data[0] & 4 ? "REJECT" : "DROP";
  options.ipset = sets[data[1] % 4];
  if (data[1] & 8) options.destinations = {"192.0.2.0/24", "2001:db8::1"};
  if (!options.destinations.empty()) options.ipset.clear();
  if (p0fbpf::check_script_options(options)) std::abort();

  std::vector<p0fbpf::FirewallRule> rules;
  for (const auto* label : *labels) {
    if (rules.size() >= 8) break;  // a few rules keep each run short
    for (int family : {4, 6}) {
      p0fbpf::CompileOptions compile_options;
      compile_options.direction = label->direction;
      compile_options.ip_version = family;
      std::vector<p0fbpf::SignatureSource> first(label->signatures.begin(),
                                                 label->signatures.begin() + std::min<std::size_t>(2, label->signatures.size()));
      p0fbpf::SplitCompilation split = p0fbpf::compile_split(first, compile_options, p0fbpf::kXtBpfMaxInstructions);
      for (const auto& program : split.programs) {
        std::string line = p0fbpf::emit(program, p0fbpf::Format::Iptables);
        line.pop_back();
        rules.push_back({family, label->direction, line, label->text});
      }
    }
  }
  // --pinned: one rule per family, for the signatures of the first label.
  if ((data[1] & 16) && !labels->empty()) {
    options.pinned = p0fbpf::PinnedProgram{"/sys/fs/bpf", p0fbpf::pin_name(text), "/usr/bin/p0fbpf", {"--loose"}, {}};
    for (const auto& source : (*labels)[0]->signatures) options.pinned->signatures.push_back(source.text);
    if (p0fbpf::check_script_options(options)) return 0;  // a signature that is no printable text
    std::vector<p0fbpf::FirewallRule> one;
    for (int family : {4, 6}) one.push_back({family, (*labels)[0]->direction, "", (*labels)[0]->text});
    rules = one;
  }
  p0fbpf::FirewallScript script = p0fbpf::firewall_script(rules, options);
  if (script.error || script.rules == 0) return 0;

  // Every comment in the script is one the label became, and safe.
  for (std::size_t at = script.text.find("--comment '"); at != std::string::npos;
       at = script.text.find("--comment '", at + 1)) {
    std::size_t begin = at + 11;
    std::size_t end = script.text.find('\'', begin);
    if (end == std::string::npos || !safe(std::string_view(script.text).substr(begin, end - begin))) std::abort();
  }
  // A set of one family leaves the other family's rules out (no address of
  // it is in the set); every other rule is there.
  auto installed = [&](int family) {
    if (options.ipset.rfind("inet:", 0) == 0) return family == 4;
    if (options.ipset.rfind("inet6:", 0) == 0) return family == 6;
    return true;
  };
  for (const auto& rule : rules) {
    if (installed(rule.ip_version) &&
        script.text.find(p0fbpf::comment_text("p0fbpf: " + rule.comment)) == std::string::npos) {
      std::abort();
    }
  }

  std::string path = "/tmp/p0fbpf-script-fuzz-" + std::to_string(getpid()) + ".sh";
  std::ofstream(path, std::ios::binary) << script.text;
  if (!passes("bash -n " + path)) std::abort();
  if (!passes("shellcheck " + path + " >&2")) std::abort();
  std::remove(path.c_str());
  return 0;
}
