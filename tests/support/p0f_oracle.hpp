// Runs the real p0f 3.09b over test packets and reports what it concluded,
// packet by packet (docs/semantics.md §5).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "packet_builder.hpp"

namespace p0fbpf::testing {

struct OracleVerdict {
  bool fingerprinted = false;  // p0f printed a syn (or syn+ack) block for it
  bool matched = false;        // the one database signature matched strictly
  std::string raw_sig;
  std::string label;  // what p0f printed as os or app ("Linux 6.x"), "???" for none
  bool fuzzy = false;  // its params line says fuzzy
};

// Where p0f is, or nullopt when it is not installed.
std::optional<std::string> find_p0f();

// The packets, each given its own flow; with `response`, each is sent by the
// server after a SYN of its flow (without MSS, so no peer-MSS rule applies).
// `signature` may be empty for a run that only collects raw_sigs.
// `raw_ip` writes a DLT_RAW capture instead of Ethernet; `keep`, if not
// empty, is where a copy of the capture goes.
std::vector<OracleVerdict> run_p0f(const std::string& p0f, std::vector<PacketSpec> packets,
                                   const std::string& signature, bool response, bool raw_ip = false,
                                   const std::string& keep = "");

// The same packets through p0f with a whole database file (`-f DATABASE`):
// each verdict's label is what p0f named the packet. `matched` is unused.
std::vector<OracleVerdict> run_p0f_with_database(const std::string& p0f, std::vector<PacketSpec> packets,
                                                 const std::string& database, bool response);

// Gives the packet the addresses and ports run_p0f would: what the BPF
// program under test must see too.
void assign_flow(PacketSpec& spec, std::size_t index, bool response);

}  // namespace p0fbpf::testing
