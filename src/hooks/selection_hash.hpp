// A digest of what an XDP attach puts on a device (the classic program, the
// slots' names, the action, the SYN gate's marker), kept with the program
// so that attaching the same selection again can change nothing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace p0fbpf {
struct BpfProgram;
}

namespace p0fbpf::ebpf {

std::uint64_t selection_hash(const BpfProgram& classic, const std::vector<std::string>& slot_names,
                             bool count_only, const std::optional<std::uint32_t>& not_syn_verdict);

}  // namespace p0fbpf::ebpf
