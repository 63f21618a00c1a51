// A bench for tc's cls_bpf hooks (root only), to run filters as users install
// them and count what they match:
//
//   namespace a                namespace b (the device under test)
//   va (veth)  <-------------> vb (veth, clsact qdisc)
//                              sink (veth) <-> sinkp, where mirrored frames land
//                              tun0 (L3, no link header), after add_tun()
//
// Filters are added with shell commands run in b, exactly as users type them
// (ending in `action mirred egress mirror dev sink [continue]`, mirred being
// the one action this kernel has: no gact, so no `action drop`); each
// filter's first action counts the packets it matched. IPv6 is off in b, so
// nothing but mirrored frames reaches the sink.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "netns.hpp"

namespace p0fbpf::testing {

enum class Hook { Ingress, Egress };
const char* name(Hook hook);  // "ingress" or "egress", as tc spells it

class TcBench {
 public:
  static constexpr const char* kDevice = "vb";
  static constexpr const char* kTun = "tun0";
  static constexpr const char* kSink = "sink";
  // vb's MAC address, fixed so that frames to it start with the byte 0x02
  // (which is no IP version: a program reading an IP header at offset 0
  // rejects them whatever it checks next).
  static constexpr std::array<std::uint8_t, 6> kMac{0x02, 0, 0, 0, 0, 0x02};

  TcBench();  // failures are test failures; check ok() before going on
  bool ok() const { return ok_; }
  Namespaces& namespaces() { return ns_; }

  // Runs a shell command (sh -c) inside namespace b, so that `tc`, `ip` and
  // scripts act on its devices; its output (stdout and stderr), exit status
  // in *status.
  std::string exec(const std::string& command, int* status = nullptr);
  // The same, a failure (non-zero status) being a test failure.
  std::string must(const std::string& command);

  // Runs a `tc filter add ...` command at `hook` of `device`; the pref tc
  // gave the new filter (-1 if there is no new one).
  int add_filter(Hook hook, const std::string& device, const std::string& command);
  // Packets counted by the first action of each filter at `hook` of `device`,
  // by pref (0 for a filter without an action).
  std::map<int, long> counts_at(Hook hook, const std::string& device = kDevice);
  // All of them together.
  long count_at(Hook hook, const std::string& device = kDevice);
  // Removes every filter at `hook` of `device` (and with them their counters).
  void clear(Hook hook, const std::string& device = kDevice);
  // Packets arrived at the sink since it was created.
  long sink_packets();

  // Sends Ethernet frames through vb's hook: for Ingress, out of va in
  // namespace a (so they arrive at vb); for Egress, out of vb itself through
  // an AF_PACKET socket, which passes the egress hook. How many were sent.
  // Returns once the counters have settled.
  std::size_t send(Hook hook, const std::vector<std::vector<std::uint8_t>>& frames);

  // Creates tun0 (persistent, up, clsact qdisc): an L3 device, whose packets
  // start with their IP header.
  void add_tun();
  // Sends IP packets through tun0's hook: for Ingress, written into its file
  // descriptor (they arrive from it); for Egress, out of tun0 through an
  // AF_PACKET SOCK_DGRAM socket. How many were sent.
  std::size_t send_ip(Hook hook, const std::vector<std::vector<std::uint8_t>>& packets);

 private:
  Namespaces ns_;
  bool ok_ = true;
};

}  // namespace p0fbpf::testing
