// tcpdump on vb in a network namespace, writing what it captures to a file
// until stop(): for the tests that capture what real stacks and tools send.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace p0fbpf::testing {

// A process started with fork/exec (its output to /dev/null), ended by the
// destructor.
class Background {
 public:
  explicit Background(std::vector<std::string> argv) {
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, STDOUT_FILENO);
      dup2(null, STDERR_FILENO);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  Background(const Background&) = delete;
  Background& operator=(const Background&) = delete;
  ~Background() { stop(); }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// The packets that `filter` (tcpdump's syntax) passes, coming "in" on vb or
// going "out" of it, in namespace `ns`, written to `path` as they come.
// `immediate`: each packet handed to tcpdump at once (--immediate-mode),
// for a few packets. Not for a scanner's burst: with it, one run kept 24 of
// nmap's SYNs and 91 of zmap's, where SuggestTools wants 100.
class TcpdumpCapture {
 public:
  TcpdumpCapture(const std::string& ns, const std::string& path, const std::string& filter,
                 const std::string& direction = "in", bool immediate = false)
      : path_(removed(path)), tcpdump_(arguments(ns, path, filter, direction, immediate)) {
    // The header is this tcpdump's: a file left at the path by an earlier
    // capture was removed first, so a tcpdump slow to start (a loaded
    // machine) is waited for instead of the old packets being read.
    for (int i = 0; i < 100 && !has_pcap_header(path); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    // tcpdump writes the header before the capture is live: a little more.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  // The file, once what was in flight is written.
  const std::string& stop() {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    tcpdump_.stop();
    return path_;
  }

 private:
  static std::vector<std::string> arguments(const std::string& ns, const std::string& path, const std::string& filter,
                                            const std::string& direction, bool immediate) {
    std::vector<std::string> argv = {"ip", "netns", "exec", ns, "timeout", "120", "tcpdump", "-i", "vb",
                                     "-Q", direction, "-n", "-U"};
    if (immediate) argv.push_back("--immediate-mode");
    argv.insert(argv.end(), {"-w", path, filter});
    return argv;
  }
  static const std::string& removed(const std::string& path) {
    std::remove(path.c_str());
    return path;
  }
  static bool has_pcap_header(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    return in && in.tellg() >= 24;
  }

  std::string path_;
  Background tcpdump_;
};

}  // namespace p0fbpf::testing
