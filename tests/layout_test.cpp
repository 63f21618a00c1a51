// The source tree keeps the layout docs/architecture.md describes: the
// folders table there names every folder under src/ and only those, every
// public header belongs to exactly one folder, and no file includes a
// header of a folder its row does not allow (a lower stage never includes a
// higher one). The rules are read from the document itself, so the page a
// newcomer reads and the check cannot drift apart.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "text_match.hpp"

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = fs::path(P0FBPF_TEST_DATA).parent_path();

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Folder keys as the table writes them, without "src/" and the last '/':
// "passes", "backend/classic"; "src" for src/ itself.
std::string key_of(const std::string& cell) {
  std::string path = cell;
  if (path.size() >= 2 && path.front() == '`' && path.back() == '`') path = path.substr(1, path.size() - 2);
  if (path == "src/") return "src";
  if (path.rfind("src/", 0) != 0 || path.back() != '/') return {};
  return path.substr(4, path.size() - 5);
}

std::vector<std::string> backticked(const std::string& cell) {
  std::vector<std::string> out;
  for (const auto& word : p0fbpf::testing::each_match(cell, "`([^`]+)`")) out.push_back(word[0]);
  return out;
}

struct Row {
  std::set<std::string> headers;      // public headers without a source of their name
  std::set<std::string> may_include;  // folder keys
};

struct Table {
  std::map<std::string, Row> rows;  // by folder key
  std::vector<std::string> problems;
};

Table read_table() {
  Table table;
  std::istringstream doc(read(kRoot / "docs" / "architecture.md"));
  for (std::string line; std::getline(doc, line);) {
    if (line.rfind("| `src/", 0) != 0) continue;
    std::vector<std::string> cells;
    std::size_t at = 1;
    for (std::size_t bar; (bar = line.find('|', at)) != std::string::npos; at = bar + 1) {
      std::string cell = line.substr(at, bar - at);
      cell.erase(0, cell.find_first_not_of(' '));
      cell.erase(cell.find_last_not_of(' ') + 1);
      cells.push_back(cell);
    }
    if (cells.size() != 4) {
      table.problems.push_back("a row without 4 cells: " + line);
      continue;
    }
    std::string key = key_of(cells[0]);
    if (key.empty() || table.rows.count(key)) {
      table.problems.push_back("a bad or repeated folder: " + cells[0]);
      continue;
    }
    Row row;
    for (const std::string& h : backticked(cells[2])) row.headers.insert(h);
    for (const std::string& f : backticked(cells[3])) row.may_include.insert(f);
    table.rows[key] = row;
  }
  return table;
}

// Every folder under src/ that holds a file, as a key.
std::set<std::string> source_folders() {
  std::set<std::string> out;
  for (const auto& entry : fs::recursive_directory_iterator(kRoot / "src")) {
    if (!entry.is_regular_file()) continue;
    fs::path folder = fs::relative(entry.path().parent_path(), kRoot / "src");
    out.insert(folder == "." ? "src" : folder.generic_string());
  }
  return out;
}

std::vector<fs::path> files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".cpp" || ext == ".hpp")) out.push_back(entry.path());
  }
  return out;
}

std::string folder_of_source(const fs::path& file) {
  fs::path folder = fs::relative(file.parent_path(), kRoot / "src");
  return folder == "." ? "src" : folder.generic_string();
}

// The folder each public header belongs to: the folder of the source file of
// its name, or the row that lists it.
std::map<std::string, std::string> public_header_folders(const Table& table, std::vector<std::string>& problems) {
  std::map<std::string, std::string> implemented;
  for (const fs::path& file : files_under(kRoot / "src")) {
    if (file.extension() == ".cpp") implemented[file.stem().string() + ".hpp"] = folder_of_source(file);
  }
  std::map<std::string, std::string> out;
  for (const auto& entry : fs::directory_iterator(kRoot / "include" / "p0fbpf")) {
    std::string name = entry.path().filename().string();
    std::vector<std::string> listed;
    for (const auto& [key, row] : table.rows) {
      if (row.headers.count(name)) listed.push_back(key);
    }
    auto source = implemented.find(name);
    if (source != implemented.end() && !listed.empty()) {
      problems.push_back(name + " has a source of its name in src/" + source->second + "/ and is listed too");
    } else if (source != implemented.end()) {
      out[name] = source->second;
    } else if (listed.size() == 1) {
      out[name] = listed[0];
    } else {
      problems.push_back(name + " belongs to no folder: list it in one row of docs/architecture.md");
    }
  }
  return out;
}

std::vector<std::string> quoted_includes(const fs::path& file) {
  std::vector<std::string> out;
  std::istringstream text(read(file));
  for (std::string line; std::getline(text, line);) {
    if (auto m = p0fbpf::testing::first_match(line, R"re(^\s*#\s*include\s*"([^"]+)")re")) out.push_back((*m)[0]);
  }
  return out;
}

TEST(Layout, TheTableNamesEveryFolderUnderSrcAndNoOther) {
  Table table = read_table();
  EXPECT_TRUE(table.problems.empty()) << table.problems.front();
  ASSERT_GE(table.rows.size(), 10u) << "docs/architecture.md's folders table was not found";
  std::set<std::string> folders = source_folders();
  for (const std::string& folder : folders) {
    EXPECT_TRUE(table.rows.count(folder)) << "src/" << folder << "/ is missing from docs/architecture.md";
  }
  for (const auto& [key, row] : table.rows) {
    EXPECT_TRUE(folders.count(key)) << "docs/architecture.md names " << key << ", which src/ does not have";
    for (const std::string& allowed : row.may_include) {
      EXPECT_TRUE(table.rows.count(allowed)) << key << " may include " << allowed << ", which is not a row";
    }
  }
}

// What the rows allow has no cycle: each stage is lower than those that
// may include it.
TEST(Layout, StagesAreOrdered) {
  Table table = read_table();
  std::map<std::string, int> state;  // 1 visiting, 2 done
  std::function<bool(const std::string&)> acyclic = [&](const std::string& key) {
    if (state[key] == 1) return false;
    if (state[key] == 2) return true;
    state[key] = 1;
    for (const std::string& next : table.rows[key].may_include) {
      if (next == key || !acyclic(next)) return false;
    }
    state[key] = 2;
    return true;
  };
  for (const auto& [key, row] : table.rows) EXPECT_TRUE(acyclic(key)) << "a cycle through " << key;
}

TEST(Layout, NoFileIncludesAHigherStage) {
  Table table = read_table();
  std::vector<std::string> problems;
  std::map<std::string, std::string> public_folders = public_header_folders(table, problems);
  std::set<std::string> private_headers;
  for (const fs::path& file : files_under(kRoot / "src")) {
    if (file.extension() == ".hpp") private_headers.insert(fs::relative(file, kRoot / "src").generic_string());
  }
  auto check = [&](const fs::path& file, const std::string& folder) {
    const Row& row = table.rows[folder];
    for (const std::string& include : quoted_includes(file)) {
      std::string target;
      if (include.rfind("p0fbpf/", 0) == 0) {
        auto it = public_folders.find(include.substr(7));
        if (it == public_folders.end()) continue;  // reported by public_header_folders
        target = it->second;
      } else if (private_headers.count(include)) {
        target = folder_of_source(kRoot / "src" / include);
      } else if (folder == "cli" && fs::exists(file.parent_path() / include)) {
        target = "cli";  // the CLI's own header, beside it
      } else {
        problems.push_back(fs::relative(file, kRoot).generic_string() + " includes \"" + include +
                           "\", which is neither a header of src/ (written from src/) nor a public one");
        continue;
      }
      if (target != folder && !row.may_include.count(target)) {
        problems.push_back(fs::relative(file, kRoot).generic_string() + " (" + folder + ") includes " + include +
                           " (" + target + ")");
      }
    }
  };
  std::size_t checked = 0;
  for (const fs::path& file : files_under(kRoot / "src")) {
    check(file, folder_of_source(file));
    ++checked;
  }
  for (const auto& [name, folder] : public_folders) {
    check(kRoot / "include" / "p0fbpf" / name, folder);
    ++checked;
  }
  EXPECT_GT(checked, 100u);
  for (const std::string& problem : problems) ADD_FAILURE() << problem;
}

// tests/ mirrors src/: each folder of tests (but its support, fixtures and
// golden files) is a folder of src/.
TEST(Layout, TestsMirrorTheSourceFolders) {
  std::set<std::string> folders = source_folders();
  std::size_t mirrored = 0;
  for (const auto& entry : fs::recursive_directory_iterator(kRoot / "tests")) {
    if (!entry.is_regular_file() || entry.path().extension() != ".cpp") continue;
    fs::path folder = fs::relative(entry.path().parent_path(), kRoot / "tests");
    std::string top = *folder.begin();
    if (folder == "." || top == "support" || top == "fixtures" || top == "golden") continue;
    EXPECT_TRUE(folders.count(folder.generic_string()))
        << entry.path().generic_string() << " is in a folder src/ does not have";
    ++mirrored;
  }
  EXPECT_GT(mirrored, 30u);
}

}  // namespace
