#include "p0fbpf/read_guards.hpp"

#include <algorithm>

namespace p0fbpf {
namespace {

using namespace ir;

void fixed_read_end(const ValuePtr& v, std::uint32_t link_offset, std::uint32_t& end) {
  if (v->kind == Value::Kind::Load && !v->base) {
    std::uint32_t stop = v->offset + static_cast<std::uint32_t>(v->width);
    // Frame reads lie before the IP header: IP-relative, they end at 0 at most.
    end = std::max(end, v->frame ? (stop > link_offset ? stop - link_offset : 0) : stop);
  }
  if (v->base) fixed_read_end(v->base, link_offset, end);
  if (v->lhs) fixed_read_end(v->lhs, link_offset, end);
  if (v->rhs) fixed_read_end(v->rhs, link_offset, end);
}

void fixed_read_end(const ConditionPtr& c, std::uint32_t link_offset, std::uint32_t& end) {
  if (c->lhs) fixed_read_end(c->lhs, link_offset, end);
  if (c->rhs) fixed_read_end(c->rhs, link_offset, end);
  for (const auto& child : c->children) fixed_read_end(child, link_offset, end);
}

}  // namespace

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
    std::uint32_t end = 0;
    fixed_read_end(branch.condition, branch.link_offset, end);
    // Frames shorter than their link header fail the same check: the
    // packet length is counted from the IP header, and is compared as the
    // frame length minus the link header.
    branch.condition = all({read_guard(ge(packet_length(), std::max<std::uint32_t>(end, 1), "packet holds every fixed read")),
                            branch.condition});
  }
  return out;
}

}  // namespace p0fbpf
