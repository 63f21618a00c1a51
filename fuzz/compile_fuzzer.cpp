// A signature (first line) and a packet (the rest): every signature that
// parses compiles, in every mode and link layer, to a program libpcap's
// bpf_validate accepts, within BPF's 4096 instructions; the program runs on
// the packet without reading past it; and its smallest form (one branch for
// both IP versions, the short window check) gives the same verdict.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "p0fbpf/compiler.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  std::size_t newline = input.find('\n');
  std::string signature = input.substr(0, newline);
  std::vector<std::uint8_t> packet;
  if (newline != std::string::npos) packet.assign(data + newline + 1, data + size);

  for (auto mode : {p0fbpf::MatchMode::Exact, p0fbpf::MatchMode::Loose}) {
    for (auto link : {p0fbpf::LinkType::Raw, p0fbpf::LinkType::Ethernet}) {
      p0fbpf::CompileOptions options;
      options.mode = mode;
      options.direction = packet.size() % 2 ? p0fbpf::Direction::Response : p0fbpf::Direction::Request;
      options.link.type = link;
      options.negate = packet.size() % 3 == 2;  // a negated program must not read past the packet either
      p0fbpf::Compilation c = p0fbpf::compile({{signature, ""}}, options);
      if (!c.ok()) continue;
      options.fit_within = 1;
      p0fbpf::Compilation small = p0fbpf::compile({{signature, ""}}, options);
      std::vector<unsigned> verdicts;
      for (const p0fbpf::BpfProgram* program : {&*c.program, &*small.program}) {
        if (!p0fbpf::is_valid(*program) || program->instructions.size() > 4096) std::abort();
        // The heap copy lets AddressSanitizer see a read past the packet.
        std::vector<std::uint8_t> copy(packet);
        verdicts.push_back(bpf_filter(program->instructions.data(), copy.data(), static_cast<unsigned>(copy.size()),
                                      static_cast<unsigned>(copy.size())));
      }
      if (verdicts[0] != verdicts[1]) std::abort();
    }
  }
  return 0;
}
