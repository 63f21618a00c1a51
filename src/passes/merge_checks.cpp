#include "passes/merge_checks.hpp"

#include <map>
#include <optional>

#include "ir/field_list.hpp"

namespace p0fbpf {
namespace {

using namespace ir;

struct Key {
  const Value* base;
  bool frame;
  std::uint32_t offset;
  bool operator<(const Key& o) const {
    if (base != o.base) return base < o.base;
    if (frame != o.frame) return frame < o.frame;
    return offset < o.offset;
  }
};

struct Byte {
  std::uint8_t mask = 0;
  std::uint8_t value = 0;
  std::size_t last = 0;  // the last check (index) that constrains it
  ValuePtr base;
  std::string field;
};

// A bound on one unmasked byte: byte >= low, byte <= high, or both.
struct ByteRange {
  Key key;
  ValuePtr base;
  std::uint32_t low = 0, high = 0xff;
};

std::optional<ByteRange> as_byte_range(const ConditionPtr& c) {
  if (c->kind != Condition::Kind::Compare || !c->rhs->is_constant() || c->lhs->kind != Value::Kind::Load ||
      c->lhs->width != Width::Byte || c->read_guard || c->implied_by_last_byte) {
    return std::nullopt;
  }
  std::uint32_t k = c->rhs->constant;
  ByteRange r{{c->lhs->base.get(), c->lhs->frame, c->lhs->offset}, c->lhs->base};
  switch (c->relation) {
    case Relation::Greater:  // negated: byte <= k
      if (k >= 0xff) return std::nullopt;
      (c->negated ? r.high : r.low) = c->negated ? k : k + 1;
      return r;
    case Relation::GreaterEqual:  // negated: byte < k
      if (k == 0 || k > 0xff) return std::nullopt;
      (c->negated ? r.high : r.low) = c->negated ? k - 1 : k;
      return r;
    default:
      return std::nullopt;
  }
}

ConditionPtr merge_all(const std::vector<ConditionPtr>& children) {
  std::map<Key, Byte> bytes;
  std::map<Key, ByteRange> ranges;
  std::map<Key, std::vector<std::size_t>> range_checks;  // the checks behind each range
  std::vector<bool> merged(children.size(), false);
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (auto range = as_byte_range(children[i])) {
      auto [it, fresh] = ranges.emplace(range->key, *range);
      it->second.low = std::max(it->second.low, range->low);
      it->second.high = std::min(it->second.high, range->high);
      range_checks[range->key].push_back(i);
      continue;
    }
    auto constraints = byte_constraints(children[i]);
    if (!constraints) continue;
    merged[i] = true;
    for (const ByteConstraint& c : *constraints) {
      Byte& byte = bytes[{c.load->base.get(), c.load->frame, c.offset}];
      if ((byte.mask & c.mask & (byte.value ^ c.value)) != 0) {
        return never(children[i]->field + ": contradicts another check");
      }
      byte.mask |= c.mask;
      byte.value |= c.value;
      byte.last = i;
      byte.base = c.load->base;
      add_field_names(byte.field, children[i]->field);
    }
  }
  // Windows of up to 4 bytes from each constrained byte on; each becomes
  // one check placed after the last check it takes the place of.
  std::multimap<std::size_t, ConditionPtr> placed;

  // A range on a byte whose 1 or 3 preceding bytes must equal constants is
  // a range on the half-word or word ending with it: the IPv6 payload
  // length, next header and hop limit, or an option's kind, length and
  // bounded value, in two compares.
  for (const auto& [key, range] : ranges) {
    std::uint32_t fixed = 0;
    while (fixed < 3 && key.offset > fixed) {
      auto it = bytes.find({key.base, key.frame, key.offset - fixed - 1});
      if (it == bytes.end() || it->second.mask != 0xff) break;
      ++fixed;
    }
    // Otherwise the fixed bytes join a window with their neighbours at no
    // extra cost, and merging would save nothing.
    bool lone_byte = fixed == 1 && (key.offset < 2 || !bytes.count({key.base, key.frame, key.offset - 2}));
    if (fixed != 3 && !lone_byte) continue;
    std::uint32_t start = key.offset - fixed;
    std::uint32_t prefix = 0;
    std::size_t last = 0;
    std::string field;
    for (std::uint32_t b = start; b < key.offset; ++b) {
      auto it = bytes.find({key.base, key.frame, b});
      prefix = (prefix << 8) | it->second.value;
      last = std::max(last, it->second.last);
      add_field_names(field, it->second.field);
      bytes.erase(it);
    }
    for (std::size_t i : range_checks.at(key)) {
      merged[i] = true;
      last = std::max(last, i);
      add_field_names(field, children[i]->field);
    }
    Width width = fixed == 3 ? Width::Word : Width::Half;
    ValuePtr word = key.frame ? frame_load(width, start) : ir::load(width, start, range.base);
    if (range.low > range.high) {
      placed.emplace(last, never(field + ": the bounds exclude each other"));
      continue;
    }
    // Both bounds, as they also hold the leading bytes to their values, in
    // the order the byte's own checks came in.
    const ConditionPtr& first = children[range_checks.at(key).front()];
    bool low_first = !first->negated;  // x > k and x >= k bound it from below
    ConditionPtr high_bound = le(word, (prefix << 8) | range.high, field);
    ConditionPtr low_bound = ge(word, (prefix << 8) | range.low, field);
    placed.emplace(last, low_first ? low_bound : high_bound);
    placed.emplace(last, low_first ? high_bound : low_bound);
  }

  for (auto it = bytes.begin(); it != bytes.end();) {
    Key first = it->first;
    std::uint32_t span = 0;
    std::size_t last = 0;
    std::string field;
    ValuePtr base = it->second.base;
    auto end = it;
    while (end != bytes.end() && end->first.base == first.base && end->first.frame == first.frame &&
           end->first.offset < first.offset + 4) {
      span = end->first.offset - first.offset + 1;
      last = std::max(last, end->second.last);
      add_field_names(field, end->second.field);
      ++end;
    }
    // Never read past the last byte a check read before: a packet may end
    // there. Three bytes become a word that starts one byte earlier, which
    // is always as readable.
    std::uint32_t start = first.offset;
    if (span == 3 && start > 0) {
      start -= 1;
      span = 4;
    }
    auto emit_window = [&](std::uint32_t from, std::uint32_t length) {
      Width width = length == 4 ? Width::Word : length == 2 ? Width::Half : Width::Byte;
      std::uint32_t size = static_cast<std::uint32_t>(width);
      std::uint32_t window_mask = 0, window_value = 0;
      for (auto b = it; b != end; ++b) {
        if (b->first.offset < from || b->first.offset >= from + size) continue;
        std::uint32_t shift = 8 * (size - 1 - (b->first.offset - from));
        window_mask |= std::uint32_t{b->second.mask} << shift;
        window_value |= std::uint32_t{b->second.value} << shift;
      }
      ValuePtr load = first.frame ? frame_load(width, from) : ir::load(width, from, base);
      std::uint32_t full = size == 4 ? 0xffffffff : (1u << (8 * size)) - 1;
      ValuePtr lhs = window_mask == full ? load : bit_and(load, window_mask);
      placed.emplace(last, eq(lhs, window_value, field));
    };
    if (span == 3) {  // at offset 0: a half-word and a byte
      emit_window(start, 2);
      emit_window(start + 2, 1);
    } else {
      emit_window(start, span);
    }
    it = end;
  }
  std::vector<ConditionPtr> out;
  for (std::size_t i = 0; i < children.size(); ++i) {
    if (!merged[i]) out.push_back(children[i]);
    auto [from, to] = placed.equal_range(i);
    for (auto p = from; p != to; ++p) out.push_back(p->second);
  }
  return all(std::move(out));
}

bool reads_byte(const ValuePtr& v, std::uint32_t byte) {
  if (v->kind == Value::Kind::Load && !v->base && !v->frame) {
    return v->offset <= byte && byte < v->offset + static_cast<std::uint32_t>(v->width);
  }
  return (v->lhs && reads_byte(v->lhs, byte)) || (v->rhs && reads_byte(v->rhs, byte));
}

}  // namespace

ConditionPtr drop_implied_length_checks(const ConditionPtr& condition) {
  if (condition->kind != Condition::Kind::All) return condition;
  const auto& children = condition->children;
  std::vector<ConditionPtr> kept;
  for (std::size_t i = 0; i < children.size(); ++i) {
    const ConditionPtr& c = children[i];
    bool implied = false;
    if (c->implied_by_last_byte && c->rhs && c->rhs->is_constant() && c->rhs->constant > 0) {
      std::uint32_t last = c->rhs->constant - 1;
      for (std::size_t j = i + 1; j < children.size() && !implied; ++j) {
        const ConditionPtr& later = children[j];
        implied = later->kind == Condition::Kind::Compare &&
                  (reads_byte(later->lhs, last) || reads_byte(later->rhs, last));
      }
    }
    if (!implied) kept.push_back(c);
  }
  return all(std::move(kept));
}

ConditionPtr merge_neighbouring_checks(const ConditionPtr& condition) {
  if (condition->kind != Condition::Kind::All) return condition;
  return merge_all(condition->children);
}

}  // namespace p0fbpf
