// p0fbpf test (and, through read_records, fingerprint) with captures that
// are large, damaged, unusual, or read and written through pipes: nothing
// lost, nothing reported as done that was not.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "capture_bytes.hpp"
#include "cli_run.hpp"
#include "test_env.hpp"

namespace p0fbpf::cli {
namespace {

using namespace p0fbpf::testing;
namespace fs = std::filesystem;

constexpr const char* kDesignCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

std::string quote(const std::string& arg) { return shell_quote(arg); }

// Runs p0fbpf with `input` on stdin; stdout and stderr as bytes.
Outcome run(const std::vector<std::string>& args, const std::string& input = "") { return run_p0fbpf(args, input); }

const std::string kMix = std::string(P0FBPF_TEST_DATA) + "/fixtures/syn-mix.pcap";
// Matches no packet of write_capture's (TTL 64 is above 32): negated, it
// matches every one.
const std::string kNone = "4:32:0:*:*,*:::0";

// A directory of the test's own, removed with what is in it.
class CliTestCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string name = ::testing::TempDir() + "p0fbpf_cli_write_XXXXXX";
    ASSERT_NE(mkdtemp(name.data()), nullptr);
    dir_ = name + "/";
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A capture of several MB, far bigger than stdio's buffers (1 MiB here).
  std::string big() {
    std::string path = dir_ + "big.pcap";
    if (!fs::exists(path)) {
      EXPECT_GT(write_capture(path, 3000, 1400), 4u << 20);
    }
    return path;
  }
  std::vector<std::string> files() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }
  std::string dir_;
};

TEST_F(CliTestCommand, TheBigCaptureIsMatchedWhole) {
  // What the tests below rely on.
  EXPECT_EQ(run({"test", "-n", "-r", big(), kNone}).out, "3000 of 3000 packets matched\n");
}

TEST_F(CliTestCommand, DevFullIsAnError) {
  for (const std::string& input : {big(), kMix}) {  // failing while writing, and at the final flush
    Outcome r = run({"test", "-n", "-r", input, "-w", "/dev/full", kNone});
    EXPECT_EQ(r.status, 2) << input;
    EXPECT_EQ(r.out, "") << input;
    EXPECT_EQ(r.err, "p0fbpf: error: cannot write /dev/full: No space left on device\n") << input;
  }
}

TEST_F(CliTestCommand, FullFileSystemIsAnErrorAndKeepsTheOldFile) {
  P0FBPF_REQUIRE(geteuid() == 0, "needs root to mount a tmpfs");
  int status = -1;
  run_shell("unshare -m true", &status);
  P0FBPF_REQUIRE(status == 0, "needs unshare -m (util-linux) and mount namespaces");
  std::string input = big();
  std::string full = dir_ + "full";
  fs::create_directory(full);
  std::string out = full + "/out.pcap";
  std::string run = quote(P0FBPF_BINARY) + " test -n -r " + quote(input) + " -w " + quote(out) + " " + quote(kNone);
  std::string script = "mount -t tmpfs -o size=64k none " + quote(full) + " || exit 99\n" +
                       run + "; echo \"[status $?]\"; ls -A " + quote(full) + "\n" +
                       "printf old > " + quote(out) + "\n" +
                       run + "; echo \"[status $?]\"; ls -A " + quote(full) + "; cat " + quote(out) + "\n";
  std::string result = run_shell("unshare -m sh -c " + quote(script), &status);
  std::string error = "p0fbpf: error: cannot write " + out + ": No space left on device\n";
  // No file when there was none, the old one when there was; no temporary.
  EXPECT_EQ(result, error + "[status 2]\n" + error + "[status 2]\nout.pcap\nold");
}

TEST_F(CliTestCommand, FailureLeavesTheOldFile) {
  std::string out = dir_ + "out.pcap";
  std::ofstream(out) << "old";
  std::string damaged = dir_ + "damaged.pcap";
  std::ofstream(damaged, std::ios::binary) << pcap_file_header(65535, 1) + pcap_record(100000, 100000, syn_frame());
  Outcome r = run({"test", "-n", "-r", damaged, "-w", out, kNone});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(read_bytes(out), "old");
  EXPECT_EQ(files(), (std::vector<std::string>{"damaged.pcap", "out.pcap"}));
}

TEST_F(CliTestCommand, SuccessReplacesTheFileKeepingItsModeAndLinks) {
  std::string real = dir_ + "real.pcap", link = dir_ + "link.pcap";
  std::ofstream(real) << "old";
  chmod(real.c_str(), 0640);
  fs::create_symlink("real.pcap", link);
  Outcome r = run({"test", "-r", kMix, "-w", link, kDesignCard});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(link));
  struct stat st {};
  ASSERT_EQ(stat(real.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(run({"test", "-r", real, kDesignCard}).out, "4 of 4 packets matched\n");
  EXPECT_EQ(files(), (std::vector<std::string>{"link.pcap", "real.pcap"}));
}

TEST_F(CliTestCommand, SignalsRemoveTheTemporaryFile) {
  std::string fifo = dir_ + "in.fifo", out = dir_ + "out.pcap";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string bytes = read_bytes(big());
  auto old_pipe = signal(SIGPIPE, SIG_IGN);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    std::ofstream(out) << "old";
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // As from a terminal, whatever ran the test ignored.
      for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) signal(s, SIG_DFL);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      execl(P0FBPF_BINARY, "p0fbpf", "test", "-n", "-r", fifo.c_str(), "-w", out.c_str(), kNone.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    // Some records, and the capture stays open: p0fbpf waits for more,
    // with its temporary file made.
    int writer = open(fifo.c_str(), O_WRONLY);
    ASSERT_GE(writer, 0);
    ASSERT_EQ(write(writer, bytes.data(), 32768), 32768);
    bool temporary = false;
    for (int i = 0; i < 1000 && !temporary; ++i) {
      for (const auto& name : files()) temporary |= name.rfind(".out.pcap.p0fbpf-", 0) == 0;
      if (!temporary) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(temporary) << "signal " << sig;
    kill(pid, sig);
    int status = 0;
    waitpid(pid, &status, 0);
    close(writer);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == sig) << "signal " << sig << ", status " << status;
    EXPECT_EQ(read_bytes(out), "old") << "signal " << sig;
    EXPECT_EQ(files(), (std::vector<std::string>{"big.pcap", "in.fifo", "out.pcap"})) << "signal " << sig;
  }
  signal(SIGPIPE, old_pipe);
}

TEST_F(CliTestCommand, NeverOverTheInput) {
  std::string input = dir_ + "in.pcap", symlink = dir_ + "symlink.pcap", hardlink = dir_ + "hardlink.pcap";
  fs::copy_file(kMix, input);
  fs::create_symlink(input, symlink);
  fs::create_hard_link(input, hardlink);
  const std::string before = read_bytes(input);
  for (const std::string& out : {input, symlink, hardlink}) {
    Outcome r = run({"test", "-r", input, "-w", out, kDesignCard});
    EXPECT_EQ(r.status, 2) << out;
    EXPECT_EQ(r.out, "") << out;
    EXPECT_EQ(r.err, "p0fbpf: error: -w " + out + " is the capture being read (-r " + input + ")\n");
    EXPECT_EQ(read_bytes(input), before) << out;
  }
  Outcome through_link = run({"test", "-r", symlink, "-w", input, kDesignCard});
  EXPECT_EQ(through_link.status, 2);
  EXPECT_EQ(read_bytes(input), before);
  EXPECT_EQ(files(), (std::vector<std::string>{"hardlink.pcap", "in.pcap", "symlink.pcap"}));
}

TEST_F(CliTestCommand, DashReadsStdinAndWritesStdout) {
  const std::string mix = read_bytes(kMix);
  Outcome in = run({"test", "-r", "-", kDesignCard}, mix);
  EXPECT_EQ(in.status, 0) << in.err;
  EXPECT_EQ(in.out, "4 of 21 packets matched\n");

  std::string file = dir_ + "file.pcap";
  ASSERT_EQ(run({"test", "-r", kMix, "-w", file, kDesignCard}).status, 0);
  for (const char* dash : {"-", "/dev/stdout"}) {
    Outcome out = run({"test", "-r", "-", "-w", dash, kDesignCard}, mix);
    EXPECT_EQ(out.status, 0) << dash << out.err;
    EXPECT_EQ(out.err, "4 of 21 packets matched\n") << dash;
    EXPECT_EQ(out.out, read_bytes(file)) << dash;
    EXPECT_EQ(run({"test", "-r", "-", kDesignCard}, out.out).out, "4 of 4 packets matched\n") << dash;
  }

  Outcome empty = run({"test", "-r", kMix, "-w", "", kDesignCard});
  EXPECT_EQ(empty.status, 2);
  EXPECT_EQ(empty.out, "");
  EXPECT_NE(empty.err.find("p0fbpf: error: -w needs a file name"), std::string::npos) << empty.err;
  Outcome both = run({"test", "-r", "-", "-"}, mix);
  EXPECT_EQ(both.status, 2);
  EXPECT_NE(both.err.find("cannot both be read from standard input"), std::string::npos) << both.err;
}

TEST_F(CliTestCommand, DamagedFirstRecordIsAnError) {
  std::vector<std::string> captures = {
      // caplen above the snapshot length and the file's size
      pcap_file_header(65535, 1) + pcap_record(100000, 100000, syn_frame()),
      // caplen above any snapshot length
      pcap_file_header(65535, 1) + pcap_record(0x7fffffff, 60, syn_frame()),
  };
  for (std::size_t i = 0; i < captures.size(); ++i) {
    std::string path = dir_ + "damaged" + std::to_string(i) + ".pcap";
    std::ofstream(path, std::ios::binary) << captures[i];
    for (std::vector<std::string> args : {std::vector<std::string>{"test", "-r", path, "-n", kNone},
                                           std::vector<std::string>{"fingerprint", "-r", path}}) {
      Outcome r = run(args);
      EXPECT_EQ(r.status, 2) << args[0] << " " << i;
      EXPECT_EQ(r.out, "") << args[0] << " " << i;
      EXPECT_EQ(r.err.rfind("p0fbpf: error: " + path + ": record 1 is damaged: ", 0), 0u) << r.err;
    }
  }
  // A damaged record after others stays a warning.
  std::string later = dir_ + "later.pcap";
  const auto frame = syn_frame();
  const auto size = static_cast<std::uint32_t>(frame.size());
  std::ofstream(later, std::ios::binary) << pcap_file_header(65535, 1) + pcap_record(size, size, frame) +
                                                pcap_record(100000, 100000, frame);
  Outcome r = run({"test", "-n", "-r", later, kNone});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "1 of 1 packets matched\n");
  EXPECT_EQ(r.err.rfind("p0fbpf: warning: " + later + ": record 2 is damaged: ", 0), 0u) << r.err;
}

TEST_F(CliTestCommand, PcapngWithDifferentInterfacesIsExplained) {
  const std::string shb = pcapng_section_header(), packet = pcapng_packet(0, syn_frame());
  struct Case {
    std::string name, bytes, what;
  };
  std::vector<Case> cases = {
      {"snaplen-first.pcapng", shb + pcapng_interface(1, 65535) + pcapng_interface(1, 1500) + packet,
       "snapshot lengths"},
      {"snaplen-later.pcapng",
       shb + pcapng_interface(1, 65535) + packet + pcapng_interface(1, 1500) + pcapng_packet(1, syn_frame()),
       "snapshot lengths"},
      {"link-later.pcapng", shb + pcapng_interface(1, 65535) + packet + pcapng_interface(101, 65535) + packet,
       "link types"},
  };
  for (const Case& c : cases) {
    std::string path = dir_ + c.name;
    std::ofstream(path, std::ios::binary) << c.bytes;
    for (std::vector<std::string> args : {std::vector<std::string>{"test", "-r", path, "-n", kNone},
                                           std::vector<std::string>{"fingerprint", "-r", path}}) {
      Outcome r = run(args);
      EXPECT_EQ(r.status, 2) << c.name << " " << args[0];
      EXPECT_EQ(r.out, "") << c.name << " " << args[0];
      EXPECT_EQ(r.err.rfind("p0fbpf: error: " + path + ": its interfaces have different " + c.what +
                                ", which libpcap cannot read",
                            0),
                0u)
          << r.err;
      EXPECT_EQ(r.err.find("damaged"), std::string::npos) << r.err;
    }
  }
  // The same packets from one interface read.
  std::string one = dir_ + "one.pcapng";
  std::ofstream(one, std::ios::binary) << shb + pcapng_interface(1, 65535) + packet + packet;
  EXPECT_EQ(run({"test", "-r", one, "-n", kNone}).out, "2 of 2 packets matched\n");
}

TEST_F(CliTestCommand, HelpTellsAboutDash) {
  Outcome help = run({"test", "--help"});
  EXPECT_NE(help.out.find("- reads it from standard input"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("- writes them to standard output"), std::string::npos) << help.out;
}

// p0f's verdicts on syn-mix.pcap's packets (fixtures/syn-mix.expected): for
// each packet, whether p0f strictly matches the signature of each column.
std::vector<std::string> expected_columns() {
  std::ifstream in(std::string(P0FBPF_TEST_DATA) + "/fixtures/syn-mix.expected");
  std::vector<std::string> verdicts;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("packet ", 0) == 0) verdicts.push_back(line.substr(7, line.find(' ', 7) - 7));
  }
  return verdicts;
}

// "Does the Linux label catch my customers?": the label of a database,
// tested on several captures of the same packets behind different links,
// one count each, as p0f counts them.
TEST_F(CliTestCommand, ALabelAgainstSeveralCaptures) {
  std::string db = dir_ + "labels.fp";
  std::ofstream(db) << "[tcp:request]\n"
                       "label = s:unix:Linux:card\n"
                       "sig   = 4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0\n"
                       "label = s:win:Windows:xp\n"
                       "sig   = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0\n";
  std::vector<std::string> verdicts = expected_columns();
  ASSERT_GT(verdicts.size(), 10u);
  std::size_t linux_count = 0, both = 0;
  for (const std::string& v : verdicts) {
    linux_count += v[0] == '+';
    both += v[0] == '+' || v[2] == '+';
  }
  ASSERT_GT(both, linux_count);
  const std::string links = std::string(P0FBPF_TEST_DATA) + "/fixtures/links/";
  std::vector<std::string> captures = {kMix, links + "linux-sll2.pcap", links + "ethernet-vlan.pcap"};
  for (auto [label, count] : {std::pair<std::string, std::size_t>{"Linux", linux_count}, {".", both}}) {
    std::vector<std::string> args = {"test", "-F", db, "--label", label};
    for (const std::string& c : captures) {
      args.push_back("-r");
      args.push_back(c);
    }
    Outcome r = run(args);
    EXPECT_EQ(r.status, 0) << r.err;
    std::string expected;
    for (const std::string& c : captures) expected += fmt::format("{}: {} of {} packets matched\n", c, count, verdicts.size());
    EXPECT_EQ(r.out, expected) << label;
    EXPECT_EQ(r.err, "");
  }
  // Signatures given as arguments join the label's.
  Outcome joined = run({"test", "-F", db, "--label", "Linux", "-r", kMix, "-r", kMix,
                        "*:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0"});
  EXPECT_EQ(joined.out, fmt::format("{0}: {1} of {2} packets matched\n{0}: {1} of {2} packets matched\n", kMix, both,
                                    verdicts.size()));
  // One capture keeps the line it always had.
  Outcome one = run({"test", "-F", db, "--label", "Windows", "-r", kMix});
  EXPECT_EQ(one.out, fmt::format("{} of {} packets matched\n", both - linux_count, verdicts.size()));
}

TEST_F(CliTestCommand, SeveralCapturesRefuseWhatTheyCannotDo) {
  const std::string target = dir_ + "matches.pcap";
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"test", "-r", kMix, "-r", kMix, "-w", target, kDesignCard},  // whose matches?
           {"test", "-r", "-", "-r", "-", kDesignCard},                 // standard input twice
           {"test", "-r", kMix, "-r", "/nonexistent.pcap", kDesignCard},  // the second unreadable
           {"test", "-r", kMix, "--label", "no label is called this"},
       }) {
    Outcome r = run(args);
    EXPECT_EQ(r.status, 2) << args[4];
    EXPECT_EQ(r.out, "") << args[4];
    EXPECT_NE(r.err.find("error:"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(fs::exists(target));
}

}  // namespace
}  // namespace p0fbpf::cli
