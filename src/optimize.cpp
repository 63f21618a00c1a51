#include "p0fbpf/optimize.hpp"

#include "p0fbpf/merge_checks.hpp"
#include "p0fbpf/share_branches.hpp"

namespace p0fbpf {

using namespace ir;

Program optimize_each_branch(const Program& program) {
  Program out = program;
  for (Branch& branch : out.branches) {
    branch.condition = drop_implied_length_checks(merge_neighbouring_checks(branch.condition));
  }
  return out;
}

Program optimize(const Program& program) { return share_branches(optimize_each_branch(program)); }

}  // namespace p0fbpf
