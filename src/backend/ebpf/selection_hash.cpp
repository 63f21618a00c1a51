#include "selection_hash.hpp"

#include "p0fbpf/bpf_program.hpp"

namespace p0fbpf::ebpf {
namespace {

// FNV-1a, 64 bits: a change detector, not a defence against forgery (the
// selection comes from the operator).
class Digest {
 public:
  void add(const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) value_ = (value_ ^ bytes[i]) * 0x100000001b3ULL;
  }
  void add_u64(std::uint64_t v) { add(&v, sizeof v); }
  std::uint64_t value() const { return value_; }

 private:
  std::uint64_t value_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::uint64_t selection_hash(const BpfProgram& classic, const std::vector<std::string>& slot_names,
                             bool count_only, const std::optional<std::uint32_t>& not_syn_verdict) {
  Digest digest;
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
