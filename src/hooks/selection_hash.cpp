#include "hooks/selection_hash.hpp"

#include "base/fnv1a.hpp"
#include "p0fbpf/bpf_program.hpp"

namespace p0fbpf::ebpf {
std::uint64_t selection_hash(const BpfProgram& classic, const std::vector<std::string>& slot_names,
                             bool count_only, const std::optional<std::uint32_t>& not_syn_verdict) {
  Fnv1a digest;  // a change detector: the selection comes from the operator
  digest.add_u64(classic.instructions.size());
  for (const bpf_insn& insn : classic.instructions) {
    digest.add_u64(insn.code);
    digest.add_u64(insn.jt);
    digest.add_u64(insn.jf);
    digest.add_u64(insn.k);
  }
  digest.add_u64(slot_names.size());
  for (const std::string& name : slot_names) {
    digest.add_u64(name.size());
    digest.add(name.data(), name.size());
  }
  digest.add_u64(count_only ? 1 : 0);
  digest.add_u64(not_syn_verdict ? 0x100000000ULL | *not_syn_verdict : 0);
  return digest.value();
}

}  // namespace p0fbpf::ebpf
