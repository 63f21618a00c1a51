#include "passes/read_guards.hpp"

#include <algorithm>

namespace p0fbpf {

using namespace ir;

Program drop_last_read_guards(const Program& program) {
  Program out = program;
  // Whether every branch after the current one accepts only packets of the
  // other IP version than `version`.
  bool only_v4_after = true, only_v6_after = true;
  for (std::size_t i = out.branches.size(); i-- > 0;) {
    Branch& branch = out.branches[i];
    bool last = i + 1 == out.branches.size();
    bool others_after = (branch.ip_version == 4 && only_v6_after) || (branch.ip_version == 6 && only_v4_after);
    if ((last || others_after) && branch.condition->kind == Condition::Kind::All) {
      std::vector<ConditionPtr> kept;
      for (const auto& child : branch.condition->children) {
        if (!child->read_guard) kept.push_back(child);
      }
      branch.condition = all(std::move(kept));
    }
    only_v4_after = only_v4_after && branch.ip_version == 4;
    only_v6_after = only_v6_after && branch.ip_version == 6;
  }
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
