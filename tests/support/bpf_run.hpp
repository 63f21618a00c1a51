// Runs a compiled program over packet bytes with libpcap's interpreter.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/classic/codegen.hpp"

namespace p0fbpf::testing {

inline std::uint32_t run_bpf(const BpfProgram& program, const std::vector<std::uint8_t>& packet) {
  auto size = static_cast<unsigned>(packet.size());
  return bpf_filter(program.instructions.data(), packet.data(), size, size);
}

}  // namespace p0fbpf::testing
