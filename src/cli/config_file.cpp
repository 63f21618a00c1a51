#include "config_file.hpp"

#include <istream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace p0fbpf::cli {
namespace {

constexpr const char* kHelp =
    "read options from FILE (TOML or INI): one 'name = value' a line, with this command's long option names "
    "without '--' and its positionals by their names above; the command line wins";

// CLI11's reader over at most kMaxConfigBytes of the file, whose names
// (outside a [section]) are those of the command the file was given to:
// the deepest command on the command line.
class CommandConfig : public CLI::ConfigTOML {
 public:
  explicit CommandConfig(const CLI::App& root) : root_(root) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::string text(kMaxConfigBytes + 1, '\0');
    input.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(input.gcount()));
    if (text.size() > kMaxConfigBytes) {
      throw CLI::FileError(fmt::format("the config file is larger than {} bytes", kMaxConfigBytes));
    }
    std::istringstream bounded(text);
    std::vector<CLI::ConfigItem> read = CLI::ConfigTOML::from_config(bounded);
    std::vector<std::string> command;
    for (const CLI::App* at = &root_; !at->get_subcommands().empty();) {
      at = at->get_subcommands().front();
      command.push_back(at->get_name());
    }
    for (CLI::ConfigItem& item : read) {
      if (item.parents.empty()) item.parents = command;
    }
    return read;
  }

 private:
  const CLI::App& root_;
};

void add_to_commands(CLI::App& app, bool root) {
  // CLI11 reads the root's; a command's own is there for its --help, and
  // config_first() moves what is given to it to the root.
  if (root) app.set_config("--config", "", kHelp)->type_name("FILE");
  else app.add_option("--config", kHelp)->type_name("FILE");
  for (CLI::App* command : app.get_subcommands({})) add_to_commands(*command, false);
}

}  // namespace

void add_config_option(CLI::App& root) {
  add_to_commands(root, true);
  root.config_formatter(std::make_shared<CommandConfig>(root));
  root.allow_config_extras(CLI::config_extras_mode::error);
}

std::vector<std::string> config_first(int argc, const char* const* argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::vector<std::string> moved, rest;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") {
      rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
      break;
    }
    if (args[i] == "--config" && i + 1 < args.size()) {
      moved.push_back(args[i]);
      moved.push_back(args[++i]);
    } else if (args[i].rfind("--config=", 0) == 0) {
      moved.push_back(args[i]);
    } else {
      rest.push_back(args[i]);
    }
  }
  std::vector<std::string> out{args.empty() ? std::string("p0fbpf") : args[0]};
  out.insert(out.end(), moved.begin(), moved.end());
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

}  // namespace p0fbpf::cli
