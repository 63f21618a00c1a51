#include "share_branches.hpp"

namespace p0fbpf {

using namespace ir;

Program share_branches(const Program& program, bool keep_signatures_apart) {
  Program out = program;
  bool changed = true;
  while (changed) {
    changed = false;
    for (std::size_t i = 0; i < out.branches.size() && !changed; ++i) {
      for (std::size_t j = i + 1; j < out.branches.size() && !changed; ++j) {
        Branch& a = out.branches[i];
        const Branch& b = out.branches[j];
        if (a.link_offset != b.link_offset || a.ip_version != b.ip_version) continue;
        if (keep_signatures_apart && a.signature != b.signature) continue;
        if (!a.framing != !b.framing || (a.framing && !same_check(a.framing, b.framing))) continue;
        std::vector<ConditionPtr> x = conjuncts(a.condition), y = conjuncts(b.condition);
        if (x.size() != y.size()) continue;
        std::size_t differing = 0, at = 0;
        for (std::size_t k = 0; k < x.size() && differing < 2; ++k) {
          if (!same_check(x[k], y[k])) {
            ++differing;
            at = k;
          }
        }
        if (differing != 1 || x[at]->read_guard || y[at]->read_guard) continue;
        x[at] = any({x[at], y[at]});
        a.condition = all(std::move(x));
        a.label += " | " + b.label;
        out.branches.erase(out.branches.begin() + static_cast<std::ptrdiff_t>(j));
        changed = true;
      }
    }
  }
  return out;
}

}  // namespace p0fbpf
