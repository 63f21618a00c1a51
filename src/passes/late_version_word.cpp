#include "passes/late_version_word.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace p0fbpf {

using namespace ir;

namespace {

// The load a compare reads (masked or not), if it is one at a fixed offset.
const Value* compared_load(const ConditionPtr& c) {
  if (c->kind != Condition::Kind::Compare || !c->lhs) return nullptr;
  const Value* v = c->lhs.get();
  if (v->kind == Value::Kind::Binary && v->op == BinaryOp::And && v->rhs && v->rhs->is_constant()) v = v->lhs.get();
  return v->kind == Value::Kind::Load && !v->base ? v : nullptr;
}

bool reads_link(const ConditionPtr& c) {
  const Value* load = compared_load(c);
  return load && load->frame;
}

// A compare of the IP header's word at `offset` (any width within it).
bool reads_word(const ConditionPtr& c, std::uint32_t offset) {
  const Value* load = compared_load(c);
  return load && !load->frame && load->offset >= offset &&
         load->offset + static_cast<std::uint32_t>(load->width) <= offset + 4;
}

}  // namespace

Program late_version_word(const Program& program) {
  Program out = program;
  for (Branch& branch : out.branches) {
    if (branch.ip_version != 6) continue;
    std::vector<ConditionPtr> parts = conjuncts(branch.condition);
    std::size_t first = 0;
    while (first < parts.size() && reads_link(parts[first])) ++first;
    // Only where a link header said the version: its framing, or link
    // checks in front (not raw IP behind an offset, nor BSD loopback, whose
    // version the nibble decides).
    if (!branch.framing && first == 0) continue;
    std::size_t second = first;
    while (second < parts.size() && reads_word(parts[second], 0)) ++second;
    std::size_t end = second;
    while (end < parts.size() && reads_word(parts[end], 4)) ++end;
    if (second == first || end == second) continue;
    std::rotate(parts.begin() + static_cast<std::ptrdiff_t>(first), parts.begin() + static_cast<std::ptrdiff_t>(second),
                parts.begin() + static_cast<std::ptrdiff_t>(end));
    branch.condition = all(parts);
  }
  return out;
}

}  // namespace p0fbpf
