#include "p0fbpf/optimize.hpp"

#include "p0fbpf/merge_checks.hpp"
#include "p0fbpf/share_branches.hpp"

namespace p0fbpf {

using namespace ir;

Program optimize(const Program& program) {
  Program out = program;
  for (Branch& branch : out.branches) {
    branch.condition = drop_implied_length_checks(merge_neighbouring_checks(branch.condition));
  }
  return share_branches(out);
}

}  // namespace p0fbpf
