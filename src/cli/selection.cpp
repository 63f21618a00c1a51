#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "commands.hpp"

namespace p0fbpf::cli {
namespace {

// p0f 3.09b's own database is 40 KiB; a larger one is not a database.
constexpr off_t kMaxDatabaseBytes = 64 << 20;

}  // namespace

std::optional<Database> load_database(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  struct stat status {};
  if (!in || stat(path.c_str(), &status) != 0) {
    fmt::print(stderr, "p0fbpf: error: cannot read {}: {}\n", printable(path), std::strerror(errno));
    return std::nullopt;
  }
  if (!S_ISREG(status.st_mode)) {
    fmt::print(stderr, "p0fbpf: error: {} is not a file\n  help: -F takes a database in p0f.fp format\n",
               printable(path));
    return std::nullopt;
  }
  if (status.st_size > kMaxDatabaseBytes) {
    fmt::print(stderr, "p0fbpf: error: {} has {} bytes, more than a database of {} MiB\n", printable(path),
               status.st_size, kMaxDatabaseBytes >> 20);
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    fmt::print(stderr, "p0fbpf: error: cannot read {}\n", printable(path));
    return std::nullopt;
  }
  DatabaseResult result = read_database(text.str(), path);
  for (const auto& e : result.errors) fmt::print(stderr, "{}", e.render());
  if (!result.ok()) return std::nullopt;
  return result.database;
}

namespace {

// The directory of the running executable; empty if /proc does not say.
std::string executable_directory() {
  std::string path(4096, '\0');
  ssize_t length = readlink("/proc/self/exe", path.data(), path.size());
  if (length <= 0 || static_cast<std::size_t>(length) >= path.size()) return {};
  path.resize(static_cast<std::size_t>(length));
  auto slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace

std::vector<std::string> default_database_paths() {
  std::vector<std::string> paths;
  if (std::string directory = executable_directory(); !directory.empty()) {
    // An installed tree, wherever its prefix is; the build tree's copy.
    paths.push_back((std::filesystem::path(directory) / ".." / P0FBPF_RELATIVE_DATABASE).lexically_normal());
    paths.push_back(directory + "/p0fbpf.fp");
  }
  paths.push_back(P0FBPF_INSTALLED_DATABASE);
  return paths;
}

std::optional<std::string> find_default_database() {
  for (const std::string& path : default_database_paths()) {
    struct stat status {};
    if (stat(path.c_str(), &status) == 0) return path;
  }
  return std::nullopt;
}

void DatabaseFlags::add_to(CLI::App& app) {
  app.add_option("-F,--fp-file", fp_file, "read signatures from a p0f database (p0f.fp format)")->type_name("FILE");
  app.add_option("--label", label,
                 "the database's signatures whose label (type:class:name:flavor) this regular expression "
                 "(RE2 syntax, e.g. 'Linux|Windows' or '^s:unix:'; '.' selects all) matches anywhere; "
                 "without --fp-file, from p0fbpf's own database (installed in share/p0fbpf/p0fbpf.fp; "
                 "-F /etc/p0f/p0f.fp reads p0f's)")
      ->type_name("PATTERN");
}

void DatabaseFlags::add_file_to(CLI::App& app, const char* help) {
  app.add_option("-F,--fp-file", fp_file, help)->type_name("FILE");
}

std::optional<std::string> DatabaseFlags::path() const {
  if (!fp_file.empty()) return fp_file;
  if (auto found = find_default_database()) return found;
  std::string tried;
  for (const std::string& path : default_database_paths()) tried += "\n  tried: " + printable(path);
  fmt::print(stderr,
             "p0fbpf: error: p0fbpf's database is not installed{}\n  help: give a database with -F FILE "
             "(p0f's is -F /etc/p0f/p0f.fp)\n",
             tried);
  return std::nullopt;
}

std::optional<SelectedLabels> DatabaseFlags::select(std::optional<Direction> direction) const {
  std::optional<SelectedLabels> out(std::in_place);
  auto resolved = path();
  if (!resolved) return std::nullopt;
  out->path = *resolved;
  auto database = load_database(*resolved);
  if (!database) return std::nullopt;
  // Moved in before selecting: the selection points into it.
  out->database = std::move(*database);
  auto labels = select_labels(out->database, label.value_or(""), direction);
  if (!labels) {
    fmt::print(stderr, "{}", render(labels.error(), label.value_or(""), "--label"));
    return std::nullopt;
  }
  out->labels = std::move(*labels);
  return out;
}

std::vector<std::string> verdict_names(const Selection& selection, bool negate) {
  if (negate) return {"packets none of the signatures match"};
  std::vector<std::string> names;
  for (std::size_t i = 0; i < selection.sources.size(); ++i) {
    const std::string& text = selection.sources[i].text;
    names.push_back(selection.names[i] == text ? text : selection.names[i] + ": " + text);
  }
  return names;
}

std::optional<Selection> read_selection(const std::vector<std::string>& arguments, const DatabaseFlags& database,
                                        Direction direction) {
  Selection selection;
  if (!arguments.empty()) {
    auto sources = read_signatures(arguments);
    if (!sources) return std::nullopt;
    for (const auto& s : *sources) {
      selection.sources.push_back(s);
      selection.names.push_back(s.text);
    }
  }
  if (database.given()) {
    auto selected = database.select(direction);
    if (!selected) return std::nullopt;
    if (selected->labels.empty()) {
      const bool response = direction == Direction::Response;
      fmt::print(stderr, "p0fbpf: error: no {} label in {} matches {}\n  help: see them with --list{}\n",
                 response ? "[tcp:response]" : "[tcp:request]", printable(selected->path),
                 p0fbpf::quoted(database.label.value_or("")), response ? "" : "; SYN+ACK labels need --response");
      return std::nullopt;
    }
    for (const DatabaseLabel* l : selected->labels) {
      for (const auto& s : l->signatures) {
        selection.sources.push_back(s);
        selection.names.push_back(l->text);
      }
    }
  }
  if (selection.sources.empty()) {
    fmt::print(stderr, "p0fbpf: error: no signature given\nRun 'p0fbpf --help' for usage.\n");
    return std::nullopt;
  }
  return selection;
}

}  // namespace p0fbpf::cli
