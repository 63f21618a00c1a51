#include "backend/nft/translate.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "backend/nft/paths.hpp"

namespace p0fbpf::nft {
namespace {

using ir::BinaryOp;
using ir::Relation;
using ir::Value;
using ir::ValuePtr;
using ir::Width;

constexpr std::size_t kMaxPaths = 4096;
// A field compared with a bit field of at most this many bits is split into
// one rule per value of the bit field.
constexpr int kMaxSplitBits = 4;

// A compare that must come out `want`.
struct Atom {
  Relation relation;
  ValuePtr lhs, rhs;
  bool want;
  std::string field;
};

struct Failure {
  std::string message;
};

// A packet field the rules read: an absolute load, the IPv4 header length,
// or the packet's length.
bool is_leaf(const Value& v) {
  return (v.kind == Value::Kind::Load && !v.base) || v.kind == Value::Kind::IpHeaderLength ||
         v.kind == Value::Kind::PacketLength;
}

unsigned bits_of(const Value& leaf) {
  if (leaf.kind == Value::Kind::Load) return 8 * static_cast<unsigned>(leaf.width);
  return 32;
}

std::uint32_t max_of(const Value& leaf) {
  unsigned bits = bits_of(leaf);
  return bits >= 32 ? 0xffffffffu : (1u << bits) - 1;
}

// The leaves `v` reads; `based` is set when it reads at an offset that
// depends on the packet.
void leaves(const ValuePtr& v, std::map<std::string, ValuePtr>& out, bool& based, const std::string& field) {
  switch (v->kind) {
    case Value::Kind::Constant: return;
    case Value::Kind::Variable:
      throw Failure{fmt::format("{}: the IR assigns a variable, which nft has not", field)};
    case Value::Kind::Load:
      if (v->frame) throw Failure{fmt::format("{}: reads the link-layer header", field)};
      if (v->base) {
        based = true;
        leaves(v->base, out, based, field);
        return;
      }
      out.emplace(v->key, v);
      return;
    case Value::Kind::IpHeaderLength:
    case Value::Kind::PacketLength:
      out.emplace(v->key, v);
      return;
    case Value::Kind::Binary:
      leaves(v->lhs, out, based, field);
      leaves(v->rhs, out, based, field);
      return;
  }
}

std::map<std::string, ValuePtr> leaves_of(const Atom& a, bool* based = nullptr) {
  std::map<std::string, ValuePtr> out;
  bool b = false;
  leaves(a.lhs, out, b, a.field);
  leaves(a.rhs, out, b, a.field);
  if (based) *based = b;
  return out;
}

// `v` with the values in `known` (by key) put in, folded.
ValuePtr substitute(const ValuePtr& v, const std::map<std::string, std::uint32_t>& known) {
  if (auto it = known.find(v->key); it != known.end()) return ir::constant(it->second);
  switch (v->kind) {
    case Value::Kind::Load:
      if (v->base) return ir::load(v->width, v->offset, substitute(v->base, known));
      return v;
    case Value::Kind::Binary: {
      ValuePtr l = substitute(v->lhs, known), r = substitute(v->rhs, known);
      if (l == v->lhs && r == v->rhs) return v;
      return ir::binary(v->op, l, r);
    }
    default:
      return v;
  }
}

// The packet's length where the IP stack has trimmed the packet to it.
ValuePtr replace_length(const ValuePtr& v, const ValuePtr& length) {
  switch (v->kind) {
    case Value::Kind::PacketLength: return length;
    case Value::Kind::Load:
      if (v->base) return ir::load(v->width, v->offset, replace_length(v->base, length));
      return v;
    case Value::Kind::Binary: return ir::binary(v->op, replace_length(v->lhs, length), replace_length(v->rhs, length));
    default: return v;
  }
}

// An expression over at most two fields, flattened once into postfix steps:
// the loops below evaluate compares for every value of a 16-bit field.
class Flat {
 public:
  // `keys`: the fields `v` may read; operator() takes their values in this
  // order.
  Flat(const ValuePtr& v, const std::vector<const std::string*>& keys) { flatten(v, keys, 1); }

  // The value; nullopt for a division by zero, which ends the classic
  // program with 0 (wherever it is in the expression, the value is lost).
  std::optional<std::uint32_t> operator()(std::uint32_t first = 0, std::uint32_t second = 0) const {
    std::array<std::uint32_t, kMaxDepth> stack{};
    std::size_t top = 0;
    for (const Step& s : steps_) {
      switch (s.kind) {
        case Step::Kind::Constant: stack[top++] = s.value; break;
        case Step::Kind::Field: stack[top++] = s.value == 0 ? first : second; break;
        case Step::Kind::Binary: {
          std::uint32_t r = stack[--top];
          if ((s.op == BinaryOp::Div || s.op == BinaryOp::Mod) && r == 0) return std::nullopt;
          stack[top - 1] = ir::fold(s.op, stack[top - 1], r);
          break;
        }
      }
    }
    return stack[0];
  }

 private:
  static constexpr std::size_t kMaxDepth = 32;
  struct Step {
    enum class Kind { Constant, Field, Binary } kind;
    std::uint32_t value = 0;  // the constant, or the field's index in keys
    BinaryOp op = BinaryOp::Add;
  };

  void flatten(const ValuePtr& v, const std::vector<const std::string*>& keys, std::size_t depth) {
    if (depth > kMaxDepth) throw std::logic_error("nft: an expression nested too deep");
    switch (v->kind) {
      case Value::Kind::Constant:
        steps_.push_back({Step::Kind::Constant, v->constant});
        return;
      case Value::Kind::Binary:
        flatten(v->lhs, keys, depth);
        flatten(v->rhs, keys, depth + 1);
        steps_.push_back({Step::Kind::Binary, 0, v->op});
        return;
      default:
        for (std::size_t i = 0; i < keys.size() && i < 2; ++i) {
          if (*keys[i] == v->key) {
            steps_.push_back({Step::Kind::Field, static_cast<std::uint32_t>(i)});
            return;
          }
        }
        throw std::logic_error("nft: no value for " + v->key);
    }
  }

  std::vector<Step> steps_;
};

// A compare, flattened (see Flat): whether it comes out `want` for the
// fields' values.
class FlatAtom {
 public:
  FlatAtom(const Atom& a, const std::vector<const std::string*>& keys)
      : lhs_(a.lhs, keys), rhs_(a.rhs, keys), relation_(a.relation), want_(a.want) {}
  bool holds(std::uint32_t first = 0, std::uint32_t second = 0) const {
    auto l = lhs_(first, second), r = rhs_(first, second);
    if (!l || !r) return false;
    return ir::relation_holds(relation_, *l, *r) == want_;
  }

 private:
  Flat lhs_, rhs_;
  Relation relation_;
  bool want_;
};

std::string leaf_text(const Value& leaf) {
  if (leaf.kind == Value::Kind::PacketLength) return "meta length";
  if (leaf.kind == Value::Kind::Load) return fmt::format("@nh,{},{}", 8 * leaf.offset, bits_of(leaf));
  throw std::logic_error("nft: no field for " + leaf.key);
}

// `leaf` or `leaf & mask`: the leaf and the mask (all ones for the leaf).
std::optional<std::pair<ValuePtr, std::uint32_t>> masked_leaf(const ValuePtr& v) {
  if (is_leaf(*v) && v->kind != Value::Kind::IpHeaderLength) return std::make_pair(v, max_of(*v));
  if (v->kind == Value::Kind::Binary && v->op == BinaryOp::And && v->rhs->is_constant()) {
    if (auto inner = masked_leaf(v->lhs)) return std::make_pair(inner->first, inner->second & v->rhs->constant);
  }
  return std::nullopt;
}

std::string masked_text(const Value& leaf, std::uint32_t mask) {
  if (mask == max_of(leaf)) return leaf_text(leaf);
  return fmt::format("{} & {:#x}", leaf_text(leaf), mask);
}

// Sorted distinct values as nft set elements, runs as ranges.
std::string elements(const std::vector<std::uint32_t>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size();) {
    std::size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += j == i ? fmt::format("{}", values[i]) : fmt::format("{}-{}", values[i], values[j]);
    i = j + 1;
  }
  return out;
}

std::size_t runs(const std::vector<std::uint32_t>& values) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i == 0 || values[i] != values[i - 1] + 1) ++n;
  }
  return n;
}

// One way of the branch on its way to rules.
struct Work {
  std::vector<Atom> atoms;
  std::vector<std::string> prefix;  // matches chosen by splits, first in the rule
  std::vector<std::string> sets;    // sets of pairs, last (a lookup costs more than a compare)
};

class Translator {
 public:
  Translator(const TranslateOptions& options) : options_(options) {}

  void expand(Work w, std::vector<Rule>& out) {
    if (!settle(w)) return;
    // Reads at an offset the IPv4 header length decides: a rule per length.
    for (const Atom& a : w.atoms) {
      bool based = false;
      auto ls = leaves_of(a, &based);
      auto ihl = std::find_if(ls.begin(), ls.end(), [](const auto& kv) {
        return kv.second->kind == Value::Kind::IpHeaderLength;
      });
      if (ihl != ls.end()) {
        for (std::uint32_t nibble = 0; nibble < 16; ++nibble) {
          Work next = with_value(w, ihl->second, 4 * nibble);
          next.atoms.insert(next.atoms.begin(), Atom{Relation::Equal, ir::bit_and(ir::load(Width::Byte, 0), 0x0f),
                                                      ir::constant(nibble), true, "ip header length"});
          expand(std::move(next), out);
        }
        return;
      }
      if (based) {
        throw Failure{fmt::format("{}: read at an offset that depends on the packet, which nft cannot read",
                                  a.field)};
      }
    }
    // Compares of two fields.
    for (const Atom& a : w.atoms) {
      auto ls = leaves_of(a);
      if (ls.size() < 2) continue;
      if (auto small = small_field(a)) {
        std::uint32_t mask = small->second;
        for (std::uint32_t v = mask;; v = (v - 1) & mask) {
          Work next = with_value(w, ir::bit_and(small->first, mask), v);
          next.atoms.insert(next.atoms.begin(),
                            Atom{Relation::Equal, ir::bit_and(small->first, mask), ir::constant(v), true, a.field});
          expand(std::move(next), out);
          if (v == 0) break;
        }
        return;
      }
      if (ls.size() == 2) {
        pair_set(w, ls, a);
        return expand(std::move(w), out);
      }
      throw Failure{fmt::format("{}: compares {} packet fields, which nft cannot", a.field, ls.size())};
    }
    emit(std::move(w), out);
  }

 private:
  // Puts in the values of fields compared equal with constants and folds;
  // false if the way can never hold.
  bool settle(Work& w) {
    for (int round = 0; round < 8; ++round) {
      std::map<std::string, std::uint32_t> known;
      for (const Atom& a : w.atoms) {
        if (a.want && a.relation == Relation::Equal && is_leaf(*a.lhs) && a.rhs->is_constant()) {
          auto [it, inserted] = known.emplace(a.lhs->key, a.rhs->constant);
          if (!inserted && it->second != a.rhs->constant) return false;
        }
      }
      bool changed = false;
      std::vector<Atom> kept;
      for (const Atom& a : w.atoms) {
        bool pin = a.want && a.relation == Relation::Equal && is_leaf(*a.lhs) && a.rhs->is_constant();
        Atom b = a;
        if (!pin) {
          b.lhs = substitute(a.lhs, known);
          b.rhs = substitute(a.rhs, known);
          if (b.lhs != a.lhs || b.rhs != a.rhs) changed = true;
        }
        if (b.lhs->is_constant() && b.rhs->is_constant()) {
          if (!FlatAtom(b, {}).holds()) return false;
          changed = true;
          continue;
        }
        kept.push_back(std::move(b));
      }
      w.atoms = std::move(kept);
      if (!changed) break;
    }
    return consistent(w);
  }

  // False if the equalities on bytes contradict each other, or a 16-bit
  // field's compares admit no value.
  bool consistent(const Work& w) {
    std::map<std::uint32_t, std::pair<std::uint8_t, std::uint8_t>> bytes;  // offset: mask, value
    for (const Atom& a : w.atoms) {
      if (!a.want || a.relation != Relation::Equal || !a.rhs->is_constant()) continue;
      auto constraints = ir::byte_constraints(ir::eq(a.lhs, a.rhs, a.field));
      if (!constraints) {
        auto m = masked_leaf(a.lhs);
        if (m && m->first->kind == Value::Kind::Load) return false;  // K outside the mask
        continue;
      }
      for (const auto& c : *constraints) {
        if (c.load->base || c.load->frame) continue;
        auto& [mask, value] = bytes[c.offset];
        if ((value & mask & c.mask) != (c.value & mask & c.mask)) return false;
        mask |= c.mask;
        value = static_cast<std::uint8_t>((value & ~c.mask) | (c.value & c.mask));
      }
    }
    std::map<std::string, std::vector<const Atom*>> per_leaf;
    for (const Atom& a : w.atoms) {
      bool based = false;
      auto ls = leaves_of(a, &based);
      if (!based && ls.size() == 1 && bits_of(*ls.begin()->second) <= 16) per_leaf[ls.begin()->first].push_back(&a);
    }
    for (const auto& [key, atoms] : per_leaf) {
      if (atoms.size() < 2) continue;  // one compare alone was checked by settle's folding or emit
      if (accepted(*leaves_of(*atoms.front()).begin()->second, atoms, 1).empty()) return false;
    }
    return true;
  }

  // The values of a 16-bit (or smaller) leaf that every atom accepts, in
  // order, the first `at_most` of them.
  std::vector<std::uint32_t> accepted(const Value& leaf, const std::vector<const Atom*>& atoms,
                                      std::size_t at_most = SIZE_MAX) {
    std::vector<std::uint32_t> out;
    std::vector<FlatAtom> flat;
    for (const Atom* a : atoms) flat.emplace_back(*a, std::vector<const std::string*>{&leaf.key});
    for (std::uint32_t v = 0; v <= max_of(leaf) && out.size() < at_most; ++v) {
      if (std::all_of(flat.begin(), flat.end(), [&](const FlatAtom& a) { return a.holds(v); })) out.push_back(v);
    }
    return out;
  }

  Work with_value(const Work& w, const ValuePtr& what, std::uint32_t value) {
    std::map<std::string, std::uint32_t> known = {{what->key, value}};
    Work next = w;
    for (Atom& a : next.atoms) {
      a.lhs = substitute(a.lhs, known);
      a.rhs = substitute(a.rhs, known);
    }
    return next;
  }

  // A `field & mask` of a few bits in the compare, to split on.
  std::optional<std::pair<ValuePtr, std::uint32_t>> small_field(const Atom& a) {
    std::optional<std::pair<ValuePtr, std::uint32_t>> found;
    auto visit = [&](auto&& self, const ValuePtr& v) -> void {
      if (found || v->kind != Value::Kind::Binary) return;
      if (v->op == BinaryOp::And && v->rhs->is_constant() && v->lhs->kind == Value::Kind::Load && !v->lhs->base &&
          std::popcount(v->rhs->constant) <= kMaxSplitBits) {
        found = std::make_pair(v->lhs, v->rhs->constant);
        return;
      }
      self(self, v->lhs);
      self(self, v->rhs);
    };
    visit(visit, a.lhs);
    visit(visit, a.rhs);
    return found;
  }

  // Two 16-bit fields, one of which the way fixes as a function of the other
  // (`a == f(b)`, or `a % f(b) == 0` and `a / f(b) == K`): the pairs of values
  // for which every compare of the two holds, as one set, in place of those
  // compares.
  void pair_set(Work& w, const std::map<std::string, ValuePtr>& two, const Atom& cause) {
    ValuePtr x = two.begin()->second, y = std::next(two.begin())->second;
    for (const ValuePtr& l : {x, y}) {
      if (l->kind != Value::Kind::Load || bits_of(*l) > 16) {
        throw Failure{fmt::format("{}: compares two packet fields, which nft cannot", cause.field)};
      }
    }
    auto only = [](const ValuePtr& v, const ValuePtr& leaf) {
      auto ls = std::map<std::string, ValuePtr>{};
      bool based = false;
      leaves(v, ls, based, "");
      return ls.size() == 1 && ls.begin()->first == leaf->key;
    };
    // The pinned field and its value as a function of the other.
    ValuePtr pinned, free, function;
    for (const Atom& a : w.atoms) {
      if (!a.want || a.relation != Relation::Equal || pinned) continue;
      for (auto [p, f] : {std::pair{x, y}, std::pair{y, x}}) {
        if (a.lhs->key == p->key && only(a.rhs, f)) {
          pinned = p, free = f, function = a.rhs;
          break;
        }
        // a / d == K, with a % d == 0 on the same way: a == K * d.
        if (a.rhs->is_constant() && a.lhs->kind == Value::Kind::Binary && a.lhs->op == BinaryOp::Div &&
            a.lhs->lhs->key == p->key && only(a.lhs->rhs, f)) {
          ValuePtr d = a.lhs->rhs;
          const std::string& field = p->key;  // a structured binding is not captured before clang 16
          bool divides = std::any_of(w.atoms.begin(), w.atoms.end(), [&](const Atom& b) {
            return b.want && b.relation == Relation::Equal && b.rhs->is_constant() && b.rhs->constant == 0 &&
                   b.lhs->kind == Value::Kind::Binary && b.lhs->op == BinaryOp::Mod && b.lhs->lhs->key == field &&
                   b.lhs->rhs->key == d->key;
          });
          if (divides) {
            pinned = p, free = f, function = ir::binary(BinaryOp::Mul, d, a.rhs);
            break;
          }
        }
      }
    }
    if (!pinned) {
      throw Failure{fmt::format("{}: compares two packet fields without fixing one by the other, which nft cannot",
                                cause.field)};
    }
    std::vector<const Atom*> group;
    std::vector<Atom> rest;
    for (const Atom& a : w.atoms) {
      auto ls = leaves_of(a);
      bool mine = !ls.empty() && std::all_of(ls.begin(), ls.end(), [&](const auto& kv) {
        return kv.first == x->key || kv.first == y->key;
      });
      if (mine) group.push_back(&a);
    }
    std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
    Flat pinned_of(function, {&free->key});
    std::vector<FlatAtom> flat;
    for (const Atom* a : group) flat.emplace_back(*a, std::vector<const std::string*>{&free->key, &pinned->key});
    for (std::uint32_t f = 0; f <= max_of(*free); ++f) {
      auto p = pinned_of(f);
      if (!p || *p > max_of(*pinned)) continue;
      if (std::all_of(flat.begin(), flat.end(), [&](const FlatAtom& a) { return a.holds(f, *p); })) {
        pairs.emplace_back(f, *p);
      }
    }
    std::string set;
    for (const auto& [f, p] : pairs) set += fmt::format("{}{} . {}", set.empty() ? "" : ", ", f, p);
    std::string match = pairs.empty() ? "" : fmt::format("{} . {} {{ {} }}", leaf_text(*free), leaf_text(*pinned), set);
    for (const Atom& a : w.atoms) {
      if (std::find(group.begin(), group.end(), &a) == group.end()) rest.push_back(a);
    }
    w.atoms = std::move(rest);
    if (pairs.empty()) {
      // No pair holds: a way that never holds.
      w.atoms.push_back(Atom{Relation::Equal, ir::constant(0), ir::constant(1), true, cause.field});
    } else {
      w.sets.push_back(std::move(match));
    }
  }

  // The matches of a way whose compares each read one field, cheapest
  // first: compares and ranges in the order of the way, then value sets,
  // then pair sets (a lookup costs more than a compare, and a rule stops at
  // its first match that fails).
  void emit(Work w, std::vector<Rule>& out) {
    if (!settle(w)) return;
    // The compares of each field of at most 16 bits that has more than one,
    // or one that is not a field against a constant: one match for them all.
    std::map<std::string, std::vector<const Atom*>> grouped;
    std::map<std::string, bool> simple;  // every compare of the field is direct
    std::map<std::string, std::vector<const Atom*>> wide;  // the compares of each wider field
    for (const Atom& a : w.atoms) {
      auto ls = leaves_of(a);
      if (ls.empty()) continue;
      const ValuePtr& leaf = ls.begin()->second;
      bool direct = direct_match(a).has_value();
      if (bits_of(*leaf) > 16) {
        if (!direct) {
          throw Failure{fmt::format("{}: computes with a {}-bit field, which nft cannot", a.field, bits_of(*leaf))};
        }
        wide[leaf->key].push_back(&a);
        continue;
      }
      grouped[leaf->key].push_back(&a);
      auto [it, first] = simple.emplace(leaf->key, direct);
      if (!first) it->second = it->second && direct;
    }
    Rule rule{w.prefix};
    std::vector<std::string> lookups;
    std::set<std::string> done;
    for (const Atom& a : w.atoms) {
      auto ls = leaves_of(a);
      if (ls.empty()) continue;
      const ValuePtr& leaf = ls.begin()->second;
      if (auto bounds = wide.find(leaf->key); bounds != wide.end() && bounds->second.size() >= 2) {
        // A wider field's lower and upper bound: one range, one load.
        if (auto range = range_of(*leaf, bounds->second)) {
          if (!done.insert(leaf->key).second) continue;
          auto [low, high] = *range;
          if (low > high) return;
          if (low != high && leaf->kind == Value::Kind::Load && bits_of(*leaf) == 32 && low >> 16 == high >> 16) {
            // The upper half fixed (IPv6's payload length): its own compare,
            // which the hook's verdict map can key on, and a range of the
            // lower half, both 16-bit loads.
            std::string upper = fmt::format("@nh,{},16", 8 * leaf->offset);
            std::string lower = fmt::format("@nh,{},16", 8 * leaf->offset + 16);
            rule.matches.push_back(fmt::format("{} == {}", upper, low >> 16));
            rule.matches.push_back(bounded(lower, low & 0xffff, high & 0xffff, 0xffff));
          } else {
            rule.matches.push_back(bounded(leaf_text(*leaf), low, high, max_of(*leaf)));
          }
          continue;
        }
      }
      auto group = grouped.find(leaf->key);
      if (group == grouped.end() || (group->second.size() == 1 && simple[leaf->key])) {
        std::string direct = *direct_match(a);
        if (direct == "never") return;
        if (!direct.empty()) rule.matches.push_back(direct);
        continue;
      }
      if (!done.insert(leaf->key).second) continue;
      std::vector<std::uint32_t> yes = accepted(*leaf, group->second);
      if (yes.empty()) return;
      std::vector<std::uint32_t> no;
      std::size_t j = 0;
      for (std::uint32_t v = 0; v <= max_of(*leaf); ++v) {
        if (j < yes.size() && yes[j] == v) ++j;
        else no.push_back(v);
      }
      if (no.empty()) continue;
      std::string field = leaf_text(*leaf);
      if (runs(yes) == 1) {
        rule.matches.push_back(bounded(field, yes.front(), yes.back(), max_of(*leaf)));
      } else if (runs(no) == 1) {
        rule.matches.push_back(no.size() == 1 ? fmt::format("{} != {}", field, no.front())
                                              : fmt::format("{} != {}-{}", field, no.front(), no.back()));
      } else if (simple[leaf->key]) {
        // Two or more compares that no range says: each as it is, cheaper
        // than a lookup.
        for (const Atom* b : group->second) rule.matches.push_back(*direct_match(*b));
      } else {
        lookups.push_back(runs(no) < runs(yes) ? fmt::format("{} != {{ {} }}", field, elements(no))
                                               : fmt::format("{} {{ {} }}", field, elements(yes)));
      }
    }
    rule.matches.insert(rule.matches.end(), lookups.begin(), lookups.end());
    rule.matches.insert(rule.matches.end(), w.sets.begin(), w.sets.end());
    std::erase_if(rule.matches, [](const std::string& m) { return m.empty(); });
    if (std::find(out.begin(), out.end(), rule) != out.end()) return;
    if (out.size() >= options_.max_rules) {
      throw Failure{fmt::format("needs more than {} nft rules", options_.max_rules)};
    }
    out.push_back(std::move(rule));
  }

  // `field` within [low, high] of [0, max], as one match: "" when that is
  // every value.
  static std::string bounded(const std::string& field, std::uint32_t low, std::uint32_t high, std::uint32_t max) {
    if (low == high) return fmt::format("{} == {}", field, low);
    if (low == 0) return high == max ? "" : fmt::format("{} <= {}", field, high);
    if (high == max) return fmt::format("{} >= {}", field, low);
    return fmt::format("{} {}-{}", field, low, high);
  }

  // The values [low, high] that compares of `leaf` itself (unmasked) with
  // constants, each a lower or upper bound, allow; nullopt when one is
  // another compare.
  static std::optional<std::pair<std::uint32_t, std::uint32_t>> range_of(const Value& leaf,
                                                                         const std::vector<const Atom*>& atoms) {
    std::uint64_t low = 0, high = max_of(leaf);
    for (const Atom* a : atoms) {
      if (a->lhs->key != leaf.key || !a->rhs->is_constant()) return std::nullopt;
      std::uint64_t k = a->rhs->constant;
      bool greater = a->relation == Relation::Greater;
      if (!greater && a->relation != Relation::GreaterEqual) return std::nullopt;
      if (a->want) {
        low = std::max(low, greater ? k + 1 : k);  // > k, >= k
      } else if (greater || k > 0) {
        high = std::min(high, greater ? k : k - 1);  // <= k, < k
      } else {
        return std::pair{1u, 0u};  // < 0: never
      }
    }
    if (low > high) return std::pair{1u, 0u};
    return std::pair{static_cast<std::uint32_t>(low), static_cast<std::uint32_t>(high)};
  }

  // The compare as one nft match, "" when it always holds, "never" when it
  // never does; nullopt when it is not a field (masked) against a constant.
  std::optional<std::string> direct_match(const Atom& a) {
    if (!a.rhs->is_constant()) return std::nullopt;
    auto m = masked_leaf(a.lhs);
    if (!m) return std::nullopt;
    const Value& leaf = *m->first;
    std::uint32_t mask = m->second, k = a.rhs->constant;
    std::string field = masked_text(leaf, mask);
    switch (a.relation) {
      case Relation::Equal:
        if ((k & ~mask) != 0) return a.want ? "never" : "";
        return fmt::format("{} {} {}", field, a.want ? "==" : "!=", k);
      case Relation::Greater:
        if (k >= mask) return a.want ? "never" : "";
        return fmt::format("{} {} {}", field, a.want ? ">" : "<=", k);
      case Relation::GreaterEqual:
        if (k == 0) return a.want ? "" : "never";
        if (k > mask) return a.want ? "never" : "";
        return fmt::format("{} {} {}", field, a.want ? ">=" : "<", k);
      case Relation::AnyBitSet: {
        std::uint32_t bits = mask & k;
        if (bits == 0) return a.want ? "never" : "";
        return fmt::format("{} & {:#x} {} 0", leaf_text(leaf), bits, a.want ? "!=" : "==");
      }
    }
    return std::nullopt;
  }

  const TranslateOptions& options_;
};

// Rules alike but for the pair set they end with, on the same two fields,
// become one rule whose set holds both sets' pairs: the rules are disjoint,
// so a packet holds the union rule exactly when it holds one of them, and
// meets one lookup where it met several.
void merge_pair_sets(std::vector<Rule>& rules) {
  auto pairs_of = [](const std::string& set, const std::string& head) {
    std::vector<std::string> out;
    std::string inside = set.substr(head.size() + 3, set.size() - head.size() - 5);  // between "{ " and " }"
    for (std::size_t at = 0; at < inside.size();) {
      std::size_t comma = std::min(inside.find(", ", at), inside.size());
      out.push_back(inside.substr(at, comma - at));
      at = comma + 2;
    }
    return out;
  };
  std::map<std::string, std::size_t> first;  // what a rule has but its last set's pairs: the rule keeping them
  std::vector<Rule> kept;
  for (Rule& rule : rules) {
    bool pair_set = !rule.matches.empty() && rule.matches.back().find(" . ") != std::string::npos &&
                    rule.matches.back().find(" { ") != std::string::npos;
    if (!pair_set) {
      kept.push_back(std::move(rule));
      continue;
    }
    const std::string& set = rule.matches.back();
    std::string key, head = set.substr(0, set.find(" { "));
    for (std::size_t i = 0; i + 1 < rule.matches.size(); ++i) key += rule.matches[i] + '\n';
    key += head;
    auto [it, inserted] = first.emplace(key, kept.size());
    if (inserted) {
      kept.push_back(std::move(rule));
      continue;
    }
    std::string& into = kept[it->second].matches.back();
    std::vector<std::string> had = pairs_of(into, head);
    std::set<std::string> there(had.begin(), had.end());
    std::string added;
    for (const std::string& pair : pairs_of(set, head)) {
      if (!there.count(pair)) added += ", " + pair;
    }
    into.insert(into.size() - 2, added);
  }
  rules = std::move(kept);
}

}  // namespace

Result<std::vector<Rule>> translate(const ir::Branch& branch, const TranslateOptions& options) {
  auto ways = paths(branch.condition, true, kMaxPaths);
  if (!ways) {
    return Diagnostic{Severity::Error, {}, fmt::format("{}: more than {} ways to match, or variables, which nft rules cannot hold", branch.label, kMaxPaths), ""};
  }
  ValuePtr length = branch.ip_version == 6 ? ir::add(ir::load(Width::Half, 4), 40) : ir::load(Width::Half, 2);
  std::vector<Rule> out;
  Translator translator(options);
  try {
    for (const Path& path : *ways) {
      Work w;
      for (const Literal& l : path) {
        const ir::Condition& c = *l.compare;
        Atom a{c.relation, c.lhs, c.rhs, l.holds != c.negated, c.field};
        if (options.length_from_ip_header) {
          a.lhs = replace_length(a.lhs, length);
          a.rhs = replace_length(a.rhs, length);
        }
        w.atoms.push_back(std::move(a));
      }
      translator.expand(std::move(w), out);
    }
  } catch (const Failure& failure) {
    return Diagnostic{Severity::Error, {}, failure.message, ""};
  }
  merge_pair_sets(out);
  return out;
}

}  // namespace p0fbpf::nft
