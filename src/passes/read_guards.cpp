#include "passes/read_guards.hpp"

#include <algorithm>

namespace p0fbpf {

using namespace ir;

Program drop_last_read_guards(const Program& program) {
  Program out = program;
  if (out.branches.empty()) return out;
  ConditionPtr& last = out.branches.back().condition;
  if (last->kind != Condition::Kind::All) return out;
  std::vector<ConditionPtr> kept;
  for (const auto& child : last->children) {
    if (!child->read_guard) kept.push_back(child);
  }
  last = all(std::move(kept));
  return out;
}

Program guard_fixed_reads(const Program& program) {
  Program out = program;
  for (Branch& branch : out.branches) {
    std::uint32_t end = read_end(branch.condition, nullptr, branch.link_offset);
    // Frames shorter than their link header fail the same check: the
    // packet length is counted from the IP header, and is compared as the
    // frame length minus the link header.
    branch.condition = all({read_guard(ge(packet_length(), std::max<std::uint32_t>(end, 1), "packet holds every fixed read")),
                            branch.condition});
  }
  return out;
}

}  // namespace p0fbpf
