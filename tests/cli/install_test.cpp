// What `cmake --install` puts where Debian expects it, and that the binary
// finds p0fbpf's own database without -F and without any environment: from
// the build tree (the copy beside build/p0fbpf) and from an installed tree
// (BIN/../share/p0fbpf/p0fbpf.fp). The labels printed prove which database
// was read: p0fbpf.fp's differ from p0f's (/etc/p0f/p0f.fp).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cli_run.hpp"
#include "test_env.hpp"

namespace p0fbpf::testing {
namespace {

namespace fs = std::filesystem;

// A label of p0fbpf.fp that p0f.fp lacks, and one of p0f.fp that p0fbpf.fp lacks.
constexpr const char* kOwnLabel = "s:!:zmap:SYN scan";
constexpr const char* kP0fLabel = "Linux:3.11 and newer";

Outcome run(const std::string& binary, const std::vector<std::string>& args) {
  std::string dir = ::testing::TempDir() + "p0fbpf_install_run_" + std::to_string(getpid()) + "_";
  std::string out = dir + "out", err = dir + "err";
  // No environment: the database is found from the executable alone.
  std::string command = "env -i " + shell_quote(binary);
  for (const auto& a : args) command += " " + shell_quote(a);
  command += " < /dev/null > " + out + " 2> " + err;
  Outcome r;
  int raw = std::system(command.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_bytes(out);
  r.err = read_bytes(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  return r;
}

// A fresh directory of this process's own, removed with the fixture.
class InstallTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = ::testing::TempDir() + "p0fbpf_install_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // DESTDIR=root cmake --install BUILD --prefix PREFIX; false after a failure.
  ::testing::AssertionResult install(const std::string& prefix) {
    int status = 0;
    std::string out = run_shell("DESTDIR=" + shell_quote(root_) + " " + shell_quote(P0FBPF_CMAKE) + " --install " +
                                    shell_quote(P0FBPF_BUILD_DIR) + " --prefix " + shell_quote(prefix),
                                &status);
    if (status != 0) return ::testing::AssertionFailure() << "cmake --install failed:\n" << out;
    return ::testing::AssertionSuccess();
  }

  std::string root_;
};

void expect_own_database(const std::string& binary, const std::string& database) {
  Outcome list = run(binary, {"--list"});
  ASSERT_EQ(list.status, 0) << list.err;
  EXPECT_NE(list.out.find(std::string("[tcp:request]  ") + kOwnLabel + "\n"), std::string::npos) << list.out;
  EXPECT_NE(list.out.find("[tcp:response] s:unix:Linux:6.x\n"), std::string::npos) << list.out;
  EXPECT_EQ(list.out.find(kP0fLabel), std::string::npos) << list.out;
  // The same listing as the repository's database given with -F.
  EXPECT_EQ(list.out, run(binary, {"-F", database, "--list"}).out);

  Outcome zmap = run(binary, {"--label", "zmap", "-f", "asm"});
  EXPECT_EQ(zmap.status, 0) << zmap.err;
  EXPECT_EQ(zmap.out, run(binary, {"-f", "asm", "4:255:0:0:65535,0:::0"}).out);
  // p0f's label is not in the default database: its file is not read.
  Outcome p0f = run(binary, {"--label", kP0fLabel});
  EXPECT_EQ(p0f.status, 2);
  EXPECT_NE(p0f.err.find("no [tcp:request] label in "), std::string::npos) << p0f.err;
  EXPECT_NE(p0f.err.find("p0fbpf.fp"), std::string::npos) << p0f.err;
  EXPECT_EQ(p0f.err.find("/etc/p0f"), std::string::npos) << p0f.err;
}

const std::string kRepositoryDatabase = std::string(P0FBPF_TEST_DATA) + "/../signatures/p0fbpf.fp";

TEST(DefaultDatabase, TheBuildTreeReadsItsCopyOfP0fbpfDatabase) {
  EXPECT_TRUE(fs::exists(fs::path(P0FBPF_BINARY).parent_path() / "p0fbpf.fp"));
  expect_own_database(P0FBPF_BINARY, kRepositoryDatabase);
}

TEST_F(InstallTree, TheInstalledTreeReadsTheInstalledDatabase) {
  ASSERT_TRUE(install("/opt/p0fbpf-test"));
  const std::string prefix = root_ + "/opt/p0fbpf-test";
  ASSERT_TRUE(fs::exists(prefix + "/share/p0fbpf/p0fbpf.fp"));
  expect_own_database(prefix + "/bin/p0fbpf", kRepositoryDatabase);
  // It still finds it when the tree moves.
  fs::rename(root_ + "/opt", root_ + "/moved");
  expect_own_database(root_ + "/moved/p0fbpf-test/bin/p0fbpf", kRepositoryDatabase);
  // -F still reads another database, p0f's when it is there.
  if (fs::exists("/etc/p0f/p0f.fp")) {
    Outcome p0f = run(root_ + "/moved/p0fbpf-test/bin/p0fbpf", {"-F", "/etc/p0f/p0f.fp", "--list"});
    EXPECT_EQ(p0f.status, 0) << p0f.err;
    EXPECT_NE(p0f.out.find(kP0fLabel), std::string::npos) << p0f.out;
  }
}

// An installed database edited by hand is read as -F reads a file: the
// same diagnostics, naming the file and the line.
TEST_F(InstallTree, AHandEditedDatabaseGetsTheDiagnosticsOfDashF) {
  ASSERT_TRUE(install("/usr"));
  const std::string binary = root_ + "/usr/bin/p0fbpf";
  const std::string database = root_ + "/usr/share/p0fbpf/p0fbpf.fp";
  std::size_t lines = 0;
  {
    std::ifstream in(database);
    for (std::string line; std::getline(in, line);) ++lines;
  }
  std::ofstream(database, std::ios::app) << "label = s:unix:edited:1\nsig = 4:64:0:*:mss*10,6:mss,bogus:df:0\n";
  Outcome edited = run(binary, {"--list"});
  EXPECT_EQ(edited.status, 2);
  EXPECT_EQ(edited.out, "");
  EXPECT_NE(edited.err.find(database + ":" + std::to_string(lines + 2) + ":"), std::string::npos) << edited.err;
  Outcome given = run(binary, {"-F", database, "--list"});
  EXPECT_EQ(given.status, 2);
  EXPECT_EQ(edited.err, given.err);
}

// Where Debian expects each file, for a package built with prefix /usr.
TEST_F(InstallTree, FilesGoWhereDebianExpectsThem) {
  ASSERT_TRUE(install("/usr"));
  std::vector<std::string> expected = {"usr/bin/p0fbpf", "usr/share/p0fbpf/p0fbpf.fp",
                                       "usr/share/bash-completion/completions/p0fbpf",
                                       "usr/share/zsh/vendor-completions/_p0fbpf",
                                       // src/dist/Packaging.cmake's: systemd's unit directory
                                       // for prefix /usr, and the package's documents.
                                       "lib/systemd/system/p0fbpf-pin@.service",
                                       "lib/systemd/system/p0fbpf-xdp@.service",
                                       "usr/share/doc/p0fbpf/changelog.gz", "usr/share/doc/p0fbpf/copyright"};
#ifdef P0FBPF_MAN
  expected.push_back("usr/share/man/man1/p0fbpf.1.gz");
#endif
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(root_)) {
    if (entry.is_regular_file()) found.push_back(fs::relative(entry.path(), root_).generic_string());
  }
  std::sort(found.begin(), found.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(found, expected);
  EXPECT_TRUE(fs::status(root_ + "/usr/bin/p0fbpf").permissions() == (fs::perms::owner_all | fs::perms::group_read |
                                                                      fs::perms::group_exec | fs::perms::others_read |
                                                                      fs::perms::others_exec));
#ifdef P0FBPF_MAN
  // The installed page renders, and says what the binary's --help says.
  const std::string man = "MANWIDTH=80 man --warnings -l " + root_ + "/usr/share/man/man1/p0fbpf.1.gz";
  int status = 0;
  std::string page = run_shell(man + " 2>/dev/null", &status);
  EXPECT_EQ(status, 0) << page;
  EXPECT_NE(page.find("p0fbpf - compile p0f TCP signatures"), std::string::npos) << page;
  EXPECT_EQ(run_shell(man + " 2>&1 >/dev/null"), "");
#endif
}

// Without a database where p0fbpf looks, it exits 2 naming every path it
// tried and -F.
TEST_F(InstallTree, AMissingDatabaseNamesEveryPathTried) {
  if (fs::exists(P0FBPF_INSTALLED_DATABASE)) GTEST_SKIP() << P0FBPF_INSTALLED_DATABASE << " is installed";
  const std::string binary = root_ + "/p0fbpf";
  fs::copy_file(P0FBPF_BINARY, binary);
  for (const auto& args : std::vector<std::vector<std::string>>{{"--list"}, {"--label", "Linux"}}) {
    Outcome r = run(binary, args);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    const std::string relative = fs::path(root_).parent_path().string() + "/share/p0fbpf/p0fbpf.fp";
    for (const std::string& path : {relative, root_ + "/p0fbpf.fp", std::string(P0FBPF_INSTALLED_DATABASE)}) {
      EXPECT_NE(r.err.find("tried: " + path + "\n"), std::string::npos) << path << "\n" << r.err;
    }
    EXPECT_NE(r.err.find("-F FILE"), std::string::npos) << r.err;
  }
  // -F needs none of them.
  EXPECT_EQ(run(binary, {"-F", kRepositoryDatabase, "--list"}).status, 0);
}

}  // namespace
}  // namespace p0fbpf::testing
