// The labels of a program's branches, in order: what the passes that move
// branches (order-versions, group-branches) are tested by.
#pragma once

#include <string>
#include <vector>

#include "ir/ir.hpp"

namespace p0fbpf::testing {

inline std::vector<std::string> branch_labels(const ir::Program& program) {
  std::vector<std::string> out;
  for (const ir::Branch& branch : program.branches) out.push_back(branch.label);
  return out;
}

}  // namespace p0fbpf::testing
