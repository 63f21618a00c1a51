#include "passes/order_versions.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <vector>

namespace p0fbpf {

using namespace ir;

namespace {

// How many different checks the branches of `version` in [begin, end) start
// with.
std::size_t distinct_first_checks(const std::vector<Branch>& branches, std::size_t begin, std::size_t end,
                                  int version) {
  std::vector<ConditionPtr> seen;
  for (std::size_t i = begin; i < end; ++i) {
    if (branches[i].ip_version != version) continue;
    std::vector<ConditionPtr> parts = conjuncts(branches[i].condition);
    ConditionPtr first = parts.empty() ? branches[i].condition : parts.front();
    bool known = false;
    for (const ConditionPtr& s : seen) known = known || same_check(s, first);
    if (!known) seen.push_back(first);
  }
  return seen.size();
}

}  // namespace

Program order_versions(const Program& program) {
  const std::vector<Branch>& in = program.branches;
  Program out;
  out.gate = program.gate;
  out.branches.reserve(in.size());
  std::size_t begin = 0;
  auto finish_run = [&](std::size_t end) {
    std::size_t v4 = distinct_first_checks(in, begin, end, 4), v6 = distinct_first_checks(in, begin, end, 6);
    auto from = in.begin() + static_cast<std::ptrdiff_t>(begin), to = in.begin() + static_cast<std::ptrdiff_t>(end);
    if (from == to) return;
    // On a tie, the version of the run's first branch first.
    const bool six_first = v4 == v6 ? from->ip_version == 6 : v6 < v4;
    for (int version : {six_first ? 6 : 4, six_first ? 4 : 6}) {
      std::copy_if(from, to, std::back_inserter(out.branches),
                   [&](const Branch& b) { return b.ip_version == version; });
    }
  };
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i].ip_version != 4 && in[i].ip_version != 6) {
      finish_run(i);
      out.branches.push_back(in[i]);
      begin = i + 1;
    }
  }
  finish_run(in.size());
  return out;
}

}  // namespace p0fbpf
