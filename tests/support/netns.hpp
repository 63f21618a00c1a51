// Two network namespaces joined by a veth pair, for tests that need the
// kernel's network stack (root only): code run inside a namespace, frames
// injected through an AF_PACKET socket (so the kernel rewrites no header).
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.hpp"

namespace p0fbpf::testing {

// Namespaces a and b (PREFIX-a-PID and PREFIX-b-PID, unique to this
// process), joined by va (in a) and vb (in b), both up, and lo up in b.
// Deleted, with their devices, by the destructor: also when a test fails.
class Namespaces {
 public:
  explicit Namespaces(const std::string& prefix = "p0fbpf");
  ~Namespaces();
  Namespaces(const Namespaces&) = delete;
  Namespaces& operator=(const Namespaces&) = delete;

  // Runs a shell command in this (root) namespace; a failure is a test failure.
  void run(const std::string& command);
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }
  std::array<std::uint8_t, 6> mac_b() const;

 private:
  std::string a_, b_, mac_b_;
};

// Runs `work` in a child process inside the named network namespace and
// returns what it returns (as a string).
template <typename Work>
std::string in_namespace(const std::string& ns, Work work) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    int nsfd = open(("/var/run/netns/" + ns).c_str(), O_RDONLY);
    std::string result = nsfd >= 0 && setns(nsfd, CLONE_NEWNET) == 0 ? work() : "setns failed";
    if (write(fds[1], result.data(), result.size()) < 0) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(n));
  close(fds[0]);
  waitpid(pid, nullptr, 0);
  return out;
}

// Sends each frame, whole, out of `device` of the current namespace through
// an AF_PACKET socket; how many were sent, as a string (or what failed).
std::string inject(const std::vector<std::vector<std::uint8_t>>& frames, const std::string& device = "va");

// Sends `frames` out of va in namespace a and returns how many of them
// arrive at vb in namespace b, byte for byte, as a packet socket there
// sees them (-1 if that socket cannot be set up).
long frames_arriving(const Namespaces& ns, const std::vector<std::vector<std::uint8_t>>& frames);
// The same between any two devices of two namespaces.
long frames_arriving_between(const std::string& ns_a, const std::string& device_a, const std::string& ns_b,
                             const std::string& device_b, const std::vector<std::vector<std::uint8_t>>& frames);

// The packet counters of the `-m bpf` rules in `chain` of `table`, in
// order, as `tool` (iptables or ip6tables) lists them in namespace `ns`.
std::vector<long> bpf_rule_counters(const std::string& ns, const std::string& tool, const std::string& table,
                                    const std::string& chain);

// The Ethernet frame of `spec` (with one 802.1Q tag, VLAN 42, if asked),
// addressed to `mac`.
std::vector<std::uint8_t> frame_to(const PacketSpec& spec, const std::array<std::uint8_t, 6>& mac,
                                   bool vlan_tag = false);

}  // namespace p0fbpf::testing
