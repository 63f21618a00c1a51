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

#include "capture_bytes.hpp"
#include "test_env.hpp"

namespace p0fbpf::cli {
namespace {

using namespace p0fbpf::testing;
namespace fs = std::filesystem;

constexpr const char* kDesignCard = "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0";

struct Outcome {
  int status = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& arg) {
  std::string q = "'";
  for (char c : arg) {
    if (c == '\'') {
      q += "'\\''";
    } else {
      q += c;
    }
  }
  return q + "'";
}

// Runs p0fbpf with `input` on stdin; stdout and stderr as bytes.
Outcome run(const std::vector<std::string>& args, const std::string& input = "") {
  std::string dir = ::testing::TempDir() + "p0fbpf_test_command_" + std::to_string(getpid()) + "_";
  std::string in = dir + "in", out = dir + "out", err = dir + "err";
  std::ofstream(in, std::ios::binary) << input;
  std::string command = quote(P0FBPF_BINARY);
  for (const auto& a : args) command += " " + quote(a);
  command += " < " + in + " > " + out + " 2> " + err;
  Outcome r;
  int raw = std::system(command.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.out = read_bytes(out);
  r.err = read_bytes(err);
  for (const auto& f : {in, out, err}) std::remove(f.c_str());
  return r;
}

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

}  // namespace
}  // namespace p0fbpf::cli
