#include "ir/ir.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include <string_view>

#include <fmt/format.h>

#include "base/release.hpp"

namespace p0fbpf::ir {
namespace {

const char* op_symbol(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Mod: return "%";
    case BinaryOp::And: return "&";
    case BinaryOp::Or: return "|";
    case BinaryOp::Xor: return "^";
    case BinaryOp::Lsh: return "<<";
    case BinaryOp::Rsh: return ">>";
  }
  return "?";
}

const char* width_letter(Width width) {
  switch (width) {
    case Width::Byte: return "b";
    case Width::Half: return "h";
    case Width::Word: return "";
  }
  return "?";
}


std::shared_ptr<Value> make(Value::Kind kind) {
  auto value = std::make_shared<Value>();
  value->kind = kind;
  return value;
}

std::shared_ptr<Condition> make_condition(Condition::Kind kind) {
  auto condition = std::make_shared<Condition>();
  condition->kind = kind;
  return condition;
}

// Values are immutable, so one node can serve every use of a constant or
// of a load at a fixed offset (a large selection has a few hundred
// thousand such uses of a few thousand values). The table only watches: a
// value no IR uses any more is freed, its entry dropped when the table has
// doubled since the last sweep. `kind` and `key` identify the value.
struct InternTable {
  std::unordered_map<std::uint64_t, std::weak_ptr<const Value>> nodes;
  std::size_t sweep_at = 1024;
};

// Per kind: constants, loads at a fixed offset.
InternTable* intern_tables() {
  thread_local InternTable tables[2];
  return tables;
}

template <typename Build>
ValuePtr interned(unsigned kind, std::uint64_t key, Build&& build) {
  InternTable& table = intern_tables()[kind];
  std::weak_ptr<const Value>& entry = table.nodes[key];
  if (ValuePtr shared = entry.lock()) return shared;
  // Its own allocation, not make_shared's, so that the table's weak
  // reference keeps no freed node's memory.
  std::shared_ptr<Value> v(new Value);
  build(*v);
  entry = v;
  if (table.nodes.size() >= table.sweep_at) {
    std::erase_if(table.nodes, [](const auto& kv) { return kv.second.expired(); });
    table.sweep_at = std::max<std::size_t>(1024, 2 * table.nodes.size());
  }
  return v;
}

}  // namespace

std::uint32_t fold(BinaryOp op, std::uint32_t a, std::uint32_t b) {
  switch (op) {
    case BinaryOp::Add: return a + b;
    case BinaryOp::Sub: return a - b;
    case BinaryOp::Mul: return a * b;
    case BinaryOp::Div: return b ? a / b : 0;
    case BinaryOp::Mod: return b ? a % b : 0;
    case BinaryOp::And: return a & b;
    case BinaryOp::Or: return a | b;
    case BinaryOp::Xor: return a ^ b;
    case BinaryOp::Lsh: return b < 32 ? a << b : 0;
    case BinaryOp::Rsh: return b < 32 ? a >> b : 0;
  }
  return 0;
}

bool relation_holds(Relation relation, std::uint32_t a, std::uint32_t b) {
  switch (relation) {
    case Relation::Equal: return a == b;
    case Relation::Greater: return a > b;
    case Relation::GreaterEqual: return a >= b;
    case Relation::AnyBitSet: return (a & b) != 0;
  }
  return false;
}

bool Value::uses_index() const {
  switch (kind) {
    case Kind::Load: return base != nullptr;
    case Kind::IpHeaderLength: return true;  // computed by ldxb 4*([k]&0xf)
    case Kind::Binary: return lhs->uses_index() || !rhs->is_constant();
    case Kind::Variable: return true;  // lives in X or scratch memory
    default: return false;
  }
}

void drop_unused_values() {
  for (InternTable* table = intern_tables(); table != intern_tables() + 2; ++table) {
    std::erase_if(table->nodes, [](const auto& kv) { return kv.second.expired(); });
    if (table->nodes.empty()) release(table->nodes);  // its buckets too
    table->sweep_at = std::max<std::size_t>(1024, 2 * table->nodes.size());
  }
}

ValuePtr constant(std::uint32_t value) {
  return interned(0, value, [&](Value& v) {
    v.kind = Value::Kind::Constant;
    v.constant = value;
    v.key = fmt::format("#{}", value);
  });
}

ValuePtr load(Width width, std::uint32_t offset, ValuePtr base) {
  if (base && base->is_constant()) {
    offset += base->constant;
    base = nullptr;
  }
  if (!base) {
    return interned(1, std::uint64_t{static_cast<std::uint8_t>(width)} << 32 | offset, [&](Value& v) {
      v.kind = Value::Kind::Load;
      v.width = width;
      v.offset = offset;
      v.key = fmt::format("ld{}[{}]", width_letter(width), offset);
    });
  }
  auto v = make(Value::Kind::Load);
  v->width = width;
  v->offset = offset;
  v->base = base;
  v->key = fmt::format("ld{}[{}+{}]", width_letter(width), base->key, offset);
  return v;
}

ValuePtr frame_load(Width width, std::uint32_t offset) {
  return interned(1, std::uint64_t{1} << 40 | std::uint64_t{static_cast<std::uint8_t>(width)} << 32 | offset,
                  [&](Value& v) {
                    v.kind = Value::Kind::Load;
                    v.width = width;
                    v.offset = offset;
                    v.frame = true;
                    v.key = fmt::format("ld{}[frame+{}]", width_letter(width), offset);
                  });
}

ValuePtr packet_length() {
  auto v = make(Value::Kind::PacketLength);
  v->key = "len";
  return v;
}

ValuePtr ip_header_length() {
  auto v = make(Value::Kind::IpHeaderLength);
  v->key = "4*([0]&0xf)";
  return v;
}

ValuePtr variable(const std::string& name) {
  auto v = make(Value::Kind::Variable);
  v->key = "$" + name;
  return v;
}

ValuePtr link_shift_variable() {
  static const ValuePtr var = variable("shift");
  return var;
}

ValuePtr binary(BinaryOp op, ValuePtr lhs, ValuePtr rhs) {
  if (lhs->is_constant() && rhs->is_constant()) return constant(fold(op, lhs->constant, rhs->constant));
  if (rhs->is_constant()) {
    std::uint32_t k = rhs->constant;
    bool identity = ((op == BinaryOp::Add || op == BinaryOp::Sub || op == BinaryOp::Or ||
                      op == BinaryOp::Xor || op == BinaryOp::Lsh || op == BinaryOp::Rsh) &&
                     k == 0) ||
                    ((op == BinaryOp::Mul || op == BinaryOp::Div) && k == 1);
    if (identity) return lhs;
    // (x + a) + b and (x + a) - b fold into one addition.
    if ((op == BinaryOp::Add || op == BinaryOp::Sub) && lhs->kind == Value::Kind::Binary &&
        lhs->op == BinaryOp::Add && lhs->rhs->is_constant()) {
      std::uint32_t a = lhs->rhs->constant;
      return binary(BinaryOp::Add, lhs->lhs, constant(op == BinaryOp::Add ? a + k : a - k));
    }
  }
  if (lhs->is_constant() && op == BinaryOp::Add) std::swap(lhs, rhs);
  auto v = make(Value::Kind::Binary);
  v->op = op;
  v->lhs = lhs;
  v->rhs = rhs;
  v->key = fmt::format("({} {} {})", lhs->key, op_symbol(op), rhs->key);
  return v;
}

ValuePtr add(ValuePtr lhs, ValuePtr rhs) { return binary(BinaryOp::Add, std::move(lhs), std::move(rhs)); }
ValuePtr add(ValuePtr lhs, std::uint32_t rhs) { return binary(BinaryOp::Add, std::move(lhs), constant(rhs)); }
ValuePtr sub(ValuePtr lhs, std::uint32_t rhs) { return binary(BinaryOp::Sub, std::move(lhs), constant(rhs)); }
ValuePtr bit_and(ValuePtr lhs, std::uint32_t mask) {
  return binary(BinaryOp::And, std::move(lhs), constant(mask));
}

ValuePtr Position::value() const { return base ? add(base, offset) : constant(offset); }

ConditionPtr compare(Relation relation, ValuePtr lhs, ValuePtr rhs, std::string field, bool negated) {
  if (lhs->is_constant() && rhs->is_constant()) {
    bool holds = relation_holds(relation, lhs->constant, rhs->constant) != negated;
    return holds ? always() : never(fmt::format("{} can never hold", field));
  }
  auto c = make_condition(Condition::Kind::Compare);
  c->relation = relation;
  c->negated = negated;
  c->lhs = std::move(lhs);
  c->rhs = std::move(rhs);
  c->field = std::move(field);
  return c;
}

ConditionPtr eq(ValuePtr lhs, ValuePtr rhs, std::string field) {
  return compare(Relation::Equal, std::move(lhs), std::move(rhs), std::move(field));
}
ConditionPtr eq(ValuePtr lhs, std::uint32_t rhs, std::string field) {
  return eq(std::move(lhs), constant(rhs), std::move(field));
}
ConditionPtr ne(ValuePtr lhs, ValuePtr rhs, std::string field) {
  return compare(Relation::Equal, std::move(lhs), std::move(rhs), std::move(field), true);
}
ConditionPtr ne(ValuePtr lhs, std::uint32_t rhs, std::string field) {
  return ne(std::move(lhs), constant(rhs), std::move(field));
}
ConditionPtr gt(ValuePtr lhs, ValuePtr rhs, std::string field) {
  return compare(Relation::Greater, std::move(lhs), std::move(rhs), std::move(field));
}
ConditionPtr gt(ValuePtr lhs, std::uint32_t rhs, std::string field) {
  return gt(std::move(lhs), constant(rhs), std::move(field));
}
ConditionPtr ge(ValuePtr lhs, ValuePtr rhs, std::string field) {
  return compare(Relation::GreaterEqual, std::move(lhs), std::move(rhs), std::move(field));
}
ConditionPtr ge(ValuePtr lhs, std::uint32_t rhs, std::string field) {
  return ge(std::move(lhs), constant(rhs), std::move(field));
}
ConditionPtr lt(ValuePtr lhs, ValuePtr rhs, std::string field) {
  return compare(Relation::GreaterEqual, std::move(lhs), std::move(rhs), std::move(field), true);
}
ConditionPtr lt(ValuePtr lhs, std::uint32_t rhs, std::string field) {
  return lt(std::move(lhs), constant(rhs), std::move(field));
}
ConditionPtr le(ValuePtr lhs, ValuePtr rhs, std::string field) {
  return compare(Relation::Greater, std::move(lhs), std::move(rhs), std::move(field), true);
}
ConditionPtr le(ValuePtr lhs, std::uint32_t rhs, std::string field) {
  return le(std::move(lhs), constant(rhs), std::move(field));
}
ConditionPtr bits_set(ValuePtr lhs, std::uint32_t mask, std::string field) {
  return compare(Relation::AnyBitSet, std::move(lhs), constant(mask), std::move(field));
}
ConditionPtr bits_clear(ValuePtr lhs, std::uint32_t mask, std::string field) {
  return compare(Relation::AnyBitSet, std::move(lhs), constant(mask), std::move(field), true);
}
ConditionPtr bits_match(ValuePtr lhs, std::uint32_t mask, bool holds, std::string field) {
  return compare(Relation::AnyBitSet, std::move(lhs), constant(mask), std::move(field), !holds);
}

ConditionPtr all(std::vector<ConditionPtr> children) {
  std::vector<ConditionPtr> kept;
  for (auto& child : children) {
    if (is_always(child)) continue;
    if (is_never(child)) return child;
    if (child->kind == Condition::Kind::All) {
      kept.insert(kept.end(), child->children.begin(), child->children.end());
    } else {
      kept.push_back(std::move(child));
    }
  }
  if (kept.empty()) return always();
  if (kept.size() == 1) return kept.front();
  auto c = make_condition(Condition::Kind::All);
  c->children = std::move(kept);
  return c;
}

ConditionPtr any(std::vector<ConditionPtr> children) {
  std::vector<ConditionPtr> kept;
  ConditionPtr first_never;  // the first with a reason: its reason and cause stand for all
  for (auto& child : children) {
    if (is_never(child)) {
      if (!first_never || first_never->field.empty()) first_never = child;
      continue;
    }
    if (is_always(child)) return child;
    if (child->kind == Condition::Kind::Any) {
      kept.insert(kept.end(), child->children.begin(), child->children.end());
    } else {
      kept.push_back(std::move(child));
    }
  }
  if (kept.empty()) return first_never && !first_never->field.empty() ? first_never : never("no alternative can hold");
  if (kept.size() == 1) return kept.front();
  auto c = make_condition(Condition::Kind::Any);
  c->children = std::move(kept);
  return c;
}

ConditionPtr select(ConditionPtr test, ConditionPtr then, ConditionPtr otherwise) {
  if (is_always(test)) return then;
  if (is_never(test)) return otherwise;
  if (is_never(then)) return all({negate(test), otherwise});
  if (is_never(otherwise)) return all({test, then});
  auto c = make_condition(Condition::Kind::Select);
  c->children = {std::move(test), std::move(then), std::move(otherwise)};
  return c;
}

ConditionPtr always() {
  auto c = make_condition(Condition::Kind::Constant);
  c->truth = true;
  return c;
}

ConditionPtr never(std::string reason, std::optional<Span> cause) {
  auto c = make_condition(Condition::Kind::Constant);
  c->truth = false;
  c->field = std::move(reason);
  c->cause = cause;
  return c;
}

ConditionPtr assign(ValuePtr variable, ValuePtr value, std::string field) {
  auto c = make_condition(Condition::Kind::Assign);
  c->lhs = std::move(variable);
  c->rhs = std::move(value);
  c->field = std::move(field);
  return c;
}

ConditionPtr implied_by_last_byte(const ConditionPtr& condition) {
  auto c = std::make_shared<Condition>(*condition);
  c->implied_by_last_byte = true;
  return c;
}

ConditionPtr read_guard(const ConditionPtr& condition) {
  if (condition->kind == Condition::Kind::Constant) return condition;
  auto c = std::make_shared<Condition>(*condition);
  c->read_guard = true;
  return c;
}

ConditionPtr negate(const ConditionPtr& condition) {
  switch (condition->kind) {
    case Condition::Kind::Compare:
      return compare(condition->relation, condition->lhs, condition->rhs, condition->field,
                     !condition->negated);
    case Condition::Kind::All: {
      std::vector<ConditionPtr> children;
      for (const auto& child : condition->children) children.push_back(negate(child));
      return any(std::move(children));
    }
    case Condition::Kind::Any: {
      std::vector<ConditionPtr> children;
      for (const auto& child : condition->children) children.push_back(negate(child));
      return all(std::move(children));
    }
    case Condition::Kind::Select:
      return select(condition->children[0], negate(condition->children[1]),
                    negate(condition->children[2]));
    case Condition::Kind::Constant:
      return condition->truth ? never("negation of a condition that always holds") : always();
    case Condition::Kind::Assign:
      // Bindings only appear in finished programs, which are never negated.
      throw std::logic_error("negating a binding");
  }
  return condition;
}

ConditionPtr equivalent(const ConditionPtr& condition, bool holds) {
  return holds ? condition : negate(condition);
}

bool same_check(const ConditionPtr& a, const ConditionPtr& b) {
  if (a == b) return true;
  if (a->kind != b->kind || a->relation != b->relation || a->negated != b->negated || a->truth != b->truth ||
      a->children.size() != b->children.size()) {
    return false;
  }
  auto key = [](const ValuePtr& v) -> const std::string& {
    static const std::string none;
    return v ? v->key : none;
  };
  if (key(a->lhs) != key(b->lhs) || key(a->rhs) != key(b->rhs)) return false;
  for (std::size_t i = 0; i < a->children.size(); ++i) {
    if (!same_check(a->children[i], b->children[i])) return false;
  }
  return true;
}

namespace {

std::uint32_t read_end(const ValuePtr& v, const Value* base, std::uint32_t link_offset) {
  std::uint32_t end = 0;
  if (v->kind == Value::Kind::Load && v->base.get() == base) {
    std::uint32_t stop = v->offset + static_cast<std::uint32_t>(v->width);
    if (!v->frame) end = stop;
    else if (!base && stop > link_offset) end = stop - link_offset;
  }
  for (const ValuePtr& part : {v->base, v->lhs, v->rhs}) {
    if (part) end = std::max(end, read_end(part, base, link_offset));
  }
  return end;
}

}  // namespace

std::uint32_t read_end(const ConditionPtr& c, const Value* base, std::uint32_t link_offset) {
  std::uint32_t end = 0;
  for (const ValuePtr& part : {c->lhs, c->rhs}) {
    if (part) end = std::max(end, read_end(part, base, link_offset));
  }
  for (const auto& child : c->children) end = std::max(end, read_end(child, base, link_offset));
  return end;
}

bool same_run(const Branch& a, const Branch& b) {
  if (a.ip_version != b.ip_version || a.link_offset != b.link_offset || !a.framing != !b.framing) return false;
  return !a.framing || same_check(a.framing, b.framing);
}

std::vector<ConditionPtr> conjuncts(const ConditionPtr& condition) {
  return condition->kind == Condition::Kind::All ? condition->children : std::vector<ConditionPtr>{condition};
}

std::optional<std::vector<ByteConstraint>> byte_constraints(const ConditionPtr& c) {
  if (c->kind != Condition::Kind::Compare || c->relation != Relation::Equal || c->negated || !c->rhs->is_constant()) {
    return std::nullopt;
  }
  ValuePtr load = c->lhs;
  std::uint32_t mask = 0xffffffff;
  if (load->kind == Value::Kind::Binary && load->op == BinaryOp::And && load->rhs->is_constant()) {
    mask = load->rhs->constant;
    load = load->lhs;
  }
  if (load->kind != Value::Kind::Load) return std::nullopt;
  auto width = static_cast<std::uint32_t>(load->width);
  if (width < 4) mask &= (1u << (8 * width)) - 1;
  std::uint32_t value = c->rhs->constant;
  if ((value & ~mask) != 0) return std::nullopt;
  std::vector<ByteConstraint> out;
  for (std::uint32_t b = 0; b < width; ++b) {
    std::uint32_t shift = 8 * (width - 1 - b);
    auto m = static_cast<std::uint8_t>(mask >> shift);
    if (m) out.push_back({load, load->offset + b, m, static_cast<std::uint8_t>(value >> shift)});
  }
  return out;
}

bool is_never(const ConditionPtr& condition) {
  return condition->kind == Condition::Kind::Constant && !condition->truth;
}

bool is_always(const ConditionPtr& condition) {
  return condition->kind == Condition::Kind::Constant && condition->truth;
}

std::string to_string(const ConditionPtr& c, int indent) {
  std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  switch (c->kind) {
    case Condition::Kind::Compare: {
      const char* rel = "?";
      switch (c->relation) {
        case Relation::Equal: rel = c->negated ? "!=" : "=="; break;
        case Relation::Greater: rel = c->negated ? "<=" : ">"; break;
        case Relation::GreaterEqual: rel = c->negated ? "<" : ">="; break;
        case Relation::AnyBitSet: rel = c->negated ? "&==0" : "&!=0"; break;
      }
      return fmt::format("{}{} {} {}  ; {}\n", pad, c->lhs->key, rel, c->rhs->key, c->field);
    }
    case Condition::Kind::All:
    case Condition::Kind::Any: {
      std::string out = fmt::format("{}{}\n", pad, c->kind == Condition::Kind::All ? "all" : "any");
      for (const auto& child : c->children) out += to_string(child, indent + 1);
      return out;
    }
    case Condition::Kind::Select: {
      std::string out = fmt::format("{}if\n", pad);
      out += to_string(c->children[0], indent + 1);
      out += fmt::format("{}then\n", pad) + to_string(c->children[1], indent + 1);
      out += fmt::format("{}else\n", pad) + to_string(c->children[2], indent + 1);
      return out;
    }
    case Condition::Kind::Constant:
      return fmt::format("{}{}{}\n", pad, c->truth ? "true" : "false",
                         c->field.empty() ? "" : "  ; " + c->field);
    case Condition::Kind::Assign:
      return fmt::format("{}{} := {}  ; {}\n", pad, c->lhs->key, c->rhs->key, c->field);
  }
  return {};
}

namespace {

void append_branches(std::string& out, const std::vector<Branch>& branches, std::string_view kind) {
  for (std::size_t i = 0; i < branches.size(); ++i) {
    const Branch& branch = branches[i];
    out += fmt::format("{} {}: {}\n", kind, i + 1, branch.label);
    out += fmt::format("  ip version {}, link offset {}", branch.ip_version == 0 ? "4 or 6" : std::to_string(branch.ip_version),
                       branch.link_offset);
    if (branch.tcp_offset) out += fmt::format(", tcp header at {}", *branch.tcp_offset);
    out += "\n";
    if (branch.framing) out += "  framing\n" + to_string(branch.framing, 2);
    out += "  condition\n" + to_string(branch.condition, 2);
  }
}

}  // namespace

std::string to_string(const Program& program) {
  std::string out;
  // The gate first, as the program runs it.
  append_branches(out, program.gate, "gate");
  if (program.framing) out += "framing of every branch\n" + to_string(program.framing, 1);
  append_branches(out, program.branches, "branch");
  if (program.branches.empty()) out += "no branches\n";
  return out;
}

namespace {

bool identical(const ValuePtr& a, const ValuePtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  return a->key == b->key && a->frame == b->frame;
}

}  // namespace

bool identical(const ConditionPtr& a, const ConditionPtr& b) {
  if (a == b) return true;
  if (!a || !b) return false;
  if (a->kind != b->kind || a->relation != b->relation || a->negated != b->negated || a->truth != b->truth ||
      a->field != b->field || a->implied_by_last_byte != b->implied_by_last_byte || a->read_guard != b->read_guard ||
      !identical(a->lhs, b->lhs) || !identical(a->rhs, b->rhs) || a->children.size() != b->children.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a->children.size(); ++i) {
    if (!identical(a->children[i], b->children[i])) return false;
  }
  return true;
}

namespace {

bool identical(const std::vector<Branch>& a, const std::vector<Branch>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Branch& x = a[i];
    const Branch& y = b[i];
    if (x.label != y.label || x.ip_version != y.ip_version || x.link_offset != y.link_offset ||
        x.tcp_offset != y.tcp_offset || x.signature != y.signature || !identical(x.framing, y.framing) || !identical(x.condition, y.condition)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool identical(const Program& a, const Program& b) {
  return identical(a.gate, b.gate) && identical(a.framing, b.framing) && identical(a.branches, b.branches);
}

}  // namespace p0fbpf::ir
