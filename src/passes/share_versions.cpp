#include "passes/share_versions.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <tuple>

#include <fmt/format.h>

namespace p0fbpf {
namespace {

using namespace ir;

// What an equality check says about single bits of bytes:
// (base, frame, offset) -> (mask, value).
using ByteKey = std::tuple<std::string, bool, std::uint32_t>;
using BitFacts = std::map<ByteKey, std::pair<std::uint8_t, std::uint8_t>>;

BitFacts bit_facts(const ConditionPtr& c) {
  BitFacts facts;
  if (c->kind == Condition::Kind::All) {
    for (const auto& child : c->children) {
      for (const auto& [key, fact] : bit_facts(child)) {
        auto& [mask, value] = facts[key];
        mask |= fact.first;
        value |= fact.second;
      }
    }
    return facts;
  }
  if (auto constraints = byte_constraints(c)) {
    for (const ByteConstraint& b : *constraints) {
      const ValuePtr& base = b.load->base;
      facts[{base ? base->key : "", b.load->frame, b.offset}] = {b.mask, b.value};
    }
  }
  return facts;
}

// True if no packet satisfies both checks.
bool exclusive(const BitFacts& x, const BitFacts& y) {
  for (const auto& [key, fact] : x) {
    auto it = y.find(key);
    if (it != y.end() && ((fact.second ^ it->second.second) & fact.first & it->second.first) != 0) return true;
  }
  return false;
}

// The IP version bit that tells 4 (0100) from 6 (0110), if the checks fix it.
std::optional<bool> version_bit(const std::vector<ConditionPtr>& checks) {
  for (const ConditionPtr& c : checks) {
    BitFacts facts = bit_facts(c);
    auto it = facts.find({"", false, 0});
    if (it != facts.end() && (it->second.first & 0x20)) return (it->second.second & 0x20) != 0;
  }
  return std::nullopt;
}

// Where the TCP header starts on either side: the variable holds the
// offset minus `floor`, the smaller side's offset. The side at the floor
// then sets it to 0, which X already holds at the start of a program.
struct TcpBase {
  std::uint32_t offset;  // this side's, from the IP header
  std::uint32_t floor;
  ValuePtr var;
};

ValuePtr rebase(const ValuePtr& v, const TcpBase& tcp) {
  switch (v->kind) {
    case Value::Kind::Load:
      if (v->base) return load(v->width, v->offset, rebase(v->base, tcp));  // positions the walk found
      if (!v->frame && v->offset >= tcp.offset) return load(v->width, v->offset - tcp.offset + tcp.floor, tcp.var);
      return v;
    case Value::Kind::Binary:
      return binary(v->op, rebase(v->lhs, tcp), rebase(v->rhs, tcp));
    default:
      return v;
  }
}

// The same check with reads of the TCP header made relative to the
// variable; the same verdict wherever var == offset - floor.
ConditionPtr rebase(const ConditionPtr& c, const TcpBase& tcp) {
  auto out = std::make_shared<Condition>(*c);
  if (c->kind == Condition::Kind::Compare) {
    out->lhs = rebase(c->lhs, tcp);
    out->rhs = rebase(c->rhs, tcp);
    // A bound on the packet length that reaches into the TCP header.
    if (c->lhs->kind == Value::Kind::PacketLength && c->rhs->is_constant() && c->rhs->constant >= tcp.offset) {
      out->rhs = add(tcp.var, c->rhs->constant - tcp.offset + tcp.floor);
    }
  }
  for (auto& child : out->children) child = rebase(child, tcp);
  return out;
}

bool mentions(const ValuePtr& v, const std::string& key) {
  if (!v) return false;
  return v->key == key || mentions(v->base, key) || mentions(v->lhs, key) || mentions(v->rhs, key);
}

bool mentions(const ConditionPtr& c, const std::string& key) {
  if (mentions(c->lhs, key) || mentions(c->rhs, key)) return true;
  for (const auto& child : c->children) {
    if (mentions(child, key)) return true;
  }
  return false;
}

ConditionPtr combine(Condition::Kind kind, std::vector<ConditionPtr> children) {
  return kind == Condition::Kind::All ? all(std::move(children)) : any(std::move(children));
}

// A check that holds as `v4` does on IPv4 packets and as `v6` does on IPv6
// ones; `is_v6` tells them apart. The version test goes as deep as the two
// stay alike.
ConditionPtr per_version(const ConditionPtr& v4, const ConditionPtr& v6, const ConditionPtr& is_v6) {
  if (same_check(v4, v6)) return v4;
  if (is_never(v4)) return all({v6, is_v6});  // the test last: it needs A
  if (is_never(v6)) return all({v4, negate(is_v6)});
  if (v4->kind == v6->kind && (v4->kind == Condition::Kind::All || v4->kind == Condition::Kind::Any)) {
    const auto& x = v4->children;
    const auto& y = v6->children;
    std::size_t prefix = 0;
    while (prefix < x.size() && prefix < y.size() && same_check(x[prefix], y[prefix])) ++prefix;
    std::size_t suffix = 0;
    while (suffix + prefix < x.size() && suffix + prefix < y.size() &&
           same_check(x[x.size() - 1 - suffix], y[y.size() - 1 - suffix])) {
      ++suffix;
    }
    if (prefix + suffix > 0) {
      std::vector<ConditionPtr> out(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(prefix));
      out.push_back(per_version(combine(v4->kind, {x.begin() + static_cast<std::ptrdiff_t>(prefix),
                                                   x.end() - static_cast<std::ptrdiff_t>(suffix)}),
                                combine(v4->kind, {y.begin() + static_cast<std::ptrdiff_t>(prefix),
                                                   y.end() - static_cast<std::ptrdiff_t>(suffix)}),
                                is_v6));
      out.insert(out.end(), x.end() - static_cast<std::ptrdiff_t>(suffix), x.end());
      return combine(v4->kind, std::move(out));
    }
  }
  if (v4->kind == Condition::Kind::Select && v6->kind == Condition::Kind::Select) {
    bool alike = false;
    for (std::size_t i = 0; i < 3; ++i) alike = alike || same_check(v4->children[i], v6->children[i]);
    if (alike) {
      return select(per_version(v4->children[0], v6->children[0], is_v6),
                    per_version(v4->children[1], v6->children[1], is_v6),
                    per_version(v4->children[2], v6->children[2], is_v6));
    }
  }
  return select(is_v6, v6, v4);
}

// `packet length >= K`, there only to keep later reads inside the packet.
bool is_length_guard(const ConditionPtr& c) {
  return c->read_guard && c->kind == Condition::Kind::Compare && c->relation == Relation::GreaterEqual &&
         !c->negated && c->lhs->kind == Value::Kind::PacketLength && c->rhs->is_constant();
}

// The IP header load that `check` masks, if it is one starting at the
// version byte.
ValuePtr masked_header_load(const ConditionPtr& check) {
  if (check->kind != Condition::Kind::Compare || check->lhs->kind != Value::Kind::Binary ||
      check->lhs->op != BinaryOp::And) {
    return nullptr;
  }
  const ValuePtr& load = check->lhs->lhs;
  bool at_version = load->kind == Value::Kind::Load && !load->base && !load->frame && load->offset == 0;
  return at_version ? load : nullptr;
}

// The shared branch, and how many TCP checks the two sides have in common.
std::optional<std::pair<Branch, std::size_t>> shared(const Branch& v4, const Branch& v6) {
  const ValuePtr var = tcp_offset_variable();
  std::vector<ConditionPtr> x = conjuncts(v4.condition), y = conjuncts(v6.condition);
  // Guards that the packet holds every byte a side reads (negated
  // programs) stay with their side; before the sides split, the shorter
  // covers what both read.
  ConditionPtr guard4, guard6, lead;
  if (!x.empty() && !y.empty() && is_length_guard(x.front()) && is_length_guard(y.front())) {
    guard4 = x.front();
    guard6 = y.front();
    lead = read_guard(ge(packet_length(), std::min(guard4->rhs->constant, guard6->rhs->constant), guard4->field));
    x.erase(x.begin());
    y.erase(y.begin());
  }
  std::size_t common = 0;
  while (common < x.size() && common < y.size() && same_check(x[common], y[common])) ++common;
  if (common == x.size() || common == y.size()) return std::nullopt;

  // The IPv4 side's first own check must rule out the IPv6 side, so that
  // failing it is where IPv6 packets go their way.
  const ConditionPtr& test = x[common];
  bool excludes = false;
  BitFacts test_facts = bit_facts(test);
  for (std::size_t j = common; j < y.size() && !excludes; ++j) excludes = exclusive(test_facts, bit_facts(y[j]));
  if (!excludes) return std::nullopt;

  // From the end, the checks of the TCP header pair up.
  const std::uint32_t floor = std::min(*v4.tcp_offset, *v6.tcp_offset);
  const TcpBase base4{*v4.tcp_offset, floor, var}, base6{*v6.tcp_offset, floor, var};
  std::size_t i = x.size(), j = y.size();
  std::vector<ConditionPtr> tail;
  std::size_t alike = 0;
  while (i > common + 1 && j > common) {
    ConditionPtr a = rebase(x[i - 1], base4);
    ConditionPtr b = rebase(y[j - 1], base6);
    bool identical = same_check(a, b);
    if (!identical && !(mentions(a, var->key) && mentions(b, var->key))) break;
    alike += identical;
    tail.push_back(std::move(a));
    tail.push_back(std::move(b));
    --i;
    --j;
  }
  std::vector<ConditionPtr> own4(x.begin() + static_cast<std::ptrdiff_t>(common), x.begin() + static_cast<std::ptrdiff_t>(i));
  std::vector<ConditionPtr> own6(y.begin() + static_cast<std::ptrdiff_t>(common), y.begin() + static_cast<std::ptrdiff_t>(j));
  // Where the tails differ, a version test decides; each side must fix the
  // version bit it reads.
  std::vector<ConditionPtr> prefix4(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(i));
  std::vector<ConditionPtr> prefix6(y.begin(), y.begin() + static_cast<std::ptrdiff_t>(j));
  if (version_bit(prefix4) != std::optional<bool>(false) || version_bit(prefix6) != std::optional<bool>(true)) {
    return std::nullopt;
  }
  ConditionPtr is_v6 = bits_set(load(Width::Byte, 0), 0x20, "ip version 6");

  // Each side sets the offset first, so that its last check jumps straight
  // to the TCP checks. Neither side reads the variable.
  std::vector<ConditionPtr> checks;
  if (lead) checks.push_back(lead);
  checks.insert(checks.end(), x.begin(), x.begin() + static_cast<std::ptrdiff_t>(common));
  ValuePtr word = masked_header_load(test);
  // The first check (say, the ethertype) may tell IPv6 from IPv4 itself.
  if (!word) own4.erase(own4.begin());
  auto side = [&](std::vector<ConditionPtr> own, const TcpBase& base, const ConditionPtr& guard, const char* name) {
    std::vector<ConditionPtr> out = {assign(var, constant(base.offset - base.floor), fmt::format("tcp header ({})", name))};
    if (guard && guard->rhs->constant > lead->rhs->constant) out.push_back(guard);  // else the lead guard did
    out.insert(out.end(), own.begin(), own.end());
    return all(std::move(out));
  };
  ConditionPtr side4 = side(std::move(own4), base4, guard4, "IPv4");
  ConditionPtr side6 = side(std::move(own6), base6, guard6, "IPv6");
  if (word) {
    // The first checks mask the same header word differently: testing the
    // version bit in it leaves the word in A for either side's mask.
    std::uint32_t bit = 0x20u << (8 * (static_cast<std::uint32_t>(word->width) - 1));
    checks.push_back(select(bits_set(word, bit, "ip version 6"), side6, side4));
  } else {
    checks.push_back(select(test, side4, side6));
  }
  for (std::size_t k = tail.size(); k > 0; k -= 2) checks.push_back(per_version(tail[k - 2], tail[k - 1], is_v6));

  Branch out = v4;
  out.label = v4.label + " | " + v6.label;
  out.condition = all(std::move(checks));
  out.ip_version = 0;
  out.tcp_offset.reset();
  return std::pair(std::move(out), alike);
}

// A branch's checks, taken apart once: share_versions weighs every IPv4
// branch against every later IPv6 one, and building each candidate in full
// (shared) made that the bulk of compiling a large selection.
struct Parts {
  std::vector<ConditionPtr> checks;                            // conjuncts
  std::vector<BitFacts> facts;                                 // bit_facts of each
  std::map<std::uint32_t, std::vector<ConditionPtr>> rebased;  // each rebased, per floor

  explicit Parts(const Branch& branch) : checks(conjuncts(branch.condition)) {
    facts.reserve(checks.size());
    for (const ConditionPtr& c : checks) facts.push_back(bit_facts(c));
  }
  const ConditionPtr& rebased_check(std::size_t k, const TcpBase& base) {
    auto& all = rebased[base.floor];
    if (all.empty()) all.resize(checks.size());
    if (!all[k]) all[k] = rebase(checks[k], base);
    return all[k];
  }
};

// version_bit over facts already taken.
std::optional<bool> version_bit(const std::vector<BitFacts>& facts, std::size_t from, std::size_t to) {
  for (std::size_t k = from; k < to; ++k) {
    auto it = facts[k].find({"", false, 0});
    if (it != facts[k].end() && (it->second.first & 0x20)) return (it->second.second & 0x20) != 0;
  }
  return std::nullopt;
}

// What shared(v4, v6) would say of the TCP checks the two have in common
// (its second), or nothing where it would return nothing; without building
// the branch.
std::optional<std::size_t> alike_checks(const Branch& v4, Parts& p4, const Branch& v6, Parts& p6) {
  const ValuePtr var = tcp_offset_variable();
  const auto& x = p4.checks;
  const auto& y = p6.checks;
  // x[s..], y[s..] are shared's x and y.
  std::size_t s = !x.empty() && !y.empty() && is_length_guard(x.front()) && is_length_guard(y.front()) ? 1 : 0;
  std::size_t common = 0;
  while (s + common < x.size() && s + common < y.size() && same_check(x[s + common], y[s + common])) ++common;
  if (s + common == x.size() || s + common == y.size()) return std::nullopt;
  bool excludes = false;
  const BitFacts& test_facts = p4.facts[s + common];
  for (std::size_t j = s + common; j < y.size() && !excludes; ++j) excludes = exclusive(test_facts, p6.facts[j]);
  if (!excludes) return std::nullopt;
  const std::uint32_t floor = std::min(*v4.tcp_offset, *v6.tcp_offset);
  const TcpBase base4{*v4.tcp_offset, floor, var}, base6{*v6.tcp_offset, floor, var};
  std::size_t i = x.size(), j = y.size();
  std::size_t alike = 0;
  while (i > s + common + 1 && j > s + common) {
    const ConditionPtr& a = p4.rebased_check(i - 1, base4);
    const ConditionPtr& b = p6.rebased_check(j - 1, base6);
    bool identical = same_check(a, b);
    if (!identical && !(mentions(a, var->key) && mentions(b, var->key))) break;
    alike += identical;
    --i;
    --j;
  }
  if (version_bit(p4.facts, s, i) != std::optional<bool>(false) ||
      version_bit(p6.facts, s, j) != std::optional<bool>(true)) {
    return std::nullopt;
  }
  return alike;
}

}  // namespace

ValuePtr tcp_offset_variable() {
  static const ValuePtr var = variable("tcp");
  return var;
}

Program share_versions(const Program& program, bool keep_signatures_apart) {
  Program out = program;
  // Parts of the IPv6 branches, kept beside out.branches.
  std::vector<std::optional<Parts>> parts(out.branches.size());
  for (std::size_t i = 0; i < out.branches.size(); ++i) {
    const Branch& a = out.branches[i];
    // Framing sets X to the IP header, which the shared branch needs for the TCP header.
    if (a.ip_version != 4 || !a.tcp_offset || a.framing) continue;
    // The IPv6 branch with the most TCP checks in common: usually the
    // same signature's (the first of those with the most).
    std::optional<Parts> own;
    std::optional<std::size_t> best;
    std::size_t partner = 0;
    for (std::size_t j = i + 1; j < out.branches.size(); ++j) {
      const Branch& b = out.branches[j];
      if (b.ip_version != 6 || !b.tcp_offset || b.link_offset != a.link_offset || b.framing) continue;
      if (keep_signatures_apart && a.signature != b.signature) continue;
      if (!own) own.emplace(a);
      if (!parts[j]) parts[j].emplace(b);
      std::optional<std::size_t> alike = alike_checks(a, *own, b, *parts[j]);
      if (alike && *alike > 0 && (!best || *alike > *best)) {
        best = alike;
        partner = j;
      }
    }
    if (best) {
      std::optional<std::pair<Branch, std::size_t>> merged = shared(a, out.branches[partner]);
      if (!merged || merged->second != *best) throw std::logic_error("share_versions: alike_checks disagrees with shared");
      out.branches[i] = std::move(merged->first);
      out.branches.erase(out.branches.begin() + static_cast<std::ptrdiff_t>(partner));
      parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(partner));
    }
  }
  return out;
}

}  // namespace p0fbpf
