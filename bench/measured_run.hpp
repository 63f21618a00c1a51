// One run of a command for the benchmarks of large selections
// (selection_bench, limits_bench): its wall time, its peak resident set
// (wait4's rusage) and its exit status, with its standard output thrown
// away and its standard error kept.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>

extern char** environ;

struct MeasuredRun {
  double seconds = 0;
  double megabytes = 0;  // peak resident set
  int exit_status = -1;  // -1: ended by a signal
  std::string errors;    // what it wrote to standard error
};

// Runs argv (argv[0] looked up in PATH); a run that cannot be started ends
// the benchmark with exit 2, `who` naming it.
inline MeasuredRun measured_run(std::vector<std::string> args, const char* who) {
  char err_path[] = "/tmp/p0fbpf_bench_err_XXXXXX";
  int err_fd = mkstemp(err_path);
  if (err_fd < 0) {
    fmt::print(stderr, "{}: cannot make a temporary file: {}\n", who, std::strerror(errno));
    std::exit(2);
  }
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&files, err_fd, 2);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  MeasuredRun r;
  auto start = std::chrono::steady_clock::now();
  pid_t pid;
  int status = 0;
  rusage usage{};
  if (posix_spawnp(&pid, argv[0], &files, nullptr, argv.data(), environ) != 0 || wait4(pid, &status, 0, &usage) < 0) {
    fmt::print(stderr, "{}: cannot run {}: {}\n", who, args[0], std::strerror(errno));
    std::exit(2);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.megabytes = static_cast<double>(usage.ru_maxrss) / 1024;  // ru_maxrss is in KiB
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  posix_spawn_file_actions_destroy(&files);

  std::ifstream err(err_path);
  r.errors.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  close(err_fd);
  unlink(err_path);
  return r;
}
