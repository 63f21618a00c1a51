#include "backend/classic/jump_threading.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

namespace p0fbpf {
namespace {

constexpr int kUnknown = -1;
// Bounds on the work per jump and on what a label remembers: fewer facts
// or steps only thread less.
constexpr std::size_t kMaxFacts = 48;
constexpr std::size_t kMaxSteps = 512;
constexpr std::size_t kMaxDeadScan = 16;

// A packet value: a load (a fixed read, or the length), then operations with
// constants, each a word `code << 32 | k`. Interned one word at a time, as
// the word after the value before it: equal values, equal ids.
struct Expression {
  int before = kUnknown;    // the value the last word applies to; kUnknown: the load itself
  std::uint64_t last = 0;   // the last word
  std::uint64_t load = 0;   // the first word, the load
  // The bytes the load reads (fixed_bytes), worked out once: size 0 for
  // none.
  std::uint32_t load_offset = 0, load_size = 0;
};

std::uint64_t word(const bpf_insn& insn) { return std::uint64_t{insn.code} << 32 | insn.k; }

enum class Kind : std::uint8_t { Equal, Greater, GreaterEqual };

// (base & mask) <kind> k holds, or not: base is the value before a last
// `and #mask` (mask all ones without one). A jset is an Equal with 0.
struct Fact {
  int base = 0;
  std::uint32_t mask = 0;
  Kind kind = Kind::Equal;
  std::uint32_t k = 0;
  bool holds = false;

  auto key() const { return std::tie(base, mask, kind, k, holds); }
  bool operator<(const Fact& o) const { return key() < o.key(); }
  bool operator==(const Fact& o) const { return key() == o.key(); }
};

// What holds on a path: facts about packet values (sorted), what A holds
// (an expression id, or kUnknown), and whether X holds the link shift
// (kXHoldsLinkShift).
struct State {
  std::vector<Fact> facts;
  int a = kUnknown;
  bool x_shift = false;
};

void add_fact(std::vector<Fact>& facts, const Fact& fact) {
  auto at = std::lower_bound(facts.begin(), facts.end(), fact);
  if (at != facts.end() && *at == fact) return;
  if (facts.size() >= kMaxFacts) return;
  facts.insert(at, fact);
}

// What holds on both paths.
void meet(State& into, const State& other) {
  std::vector<Fact> both;
  std::set_intersection(into.facts.begin(), into.facts.end(), other.facts.begin(), other.facts.end(),
                        std::back_inserter(both));
  into.facts = std::move(both);
  if (into.a != other.a) into.a = kUnknown;
  into.x_shift = into.x_shift && other.x_shift;
}

// Whether X holds the link shift after the instruction, given whether it
// did before.
bool x_shift_after(const bpf_insn& insn, bool before) {
  if (x_holds_link_shift(insn)) return true;
  bool sets_x = BPF_CLASS(insn.code) == BPF_LDX ||
                (BPF_CLASS(insn.code) == BPF_MISC && BPF_MISCOP(insn.code) == BPF_TAX);
  return before && !sets_x;
}

// A reload of the link shift into X where X holds it already: nothing.
bool no_op_reload(const bpf_insn& insn, bool x_shift) {
  return x_shift && BPF_CLASS(insn.code) == BPF_LDX && x_holds_link_shift(insn);
}

// The bounds a Greater or GreaterEqual fact puts on its value.
std::pair<std::uint32_t, std::uint32_t> bounds(const Fact& f) {
  std::uint32_t lo = 0, hi = UINT32_MAX;
  if (f.kind == Kind::Greater) {
    if (f.holds) lo = f.k == UINT32_MAX ? UINT32_MAX : f.k + 1;
    else hi = f.k;
  } else {
    if (f.holds) lo = f.k;
    else hi = f.k == 0 ? 0 : f.k - 1;
  }
  return {lo, hi};
}

bool compare(Kind kind, std::uint32_t value, std::uint32_t k) {
  switch (kind) {
    case Kind::Equal: return value == k;
    case Kind::Greater: return value > k;
    case Kind::GreaterEqual: return value >= k;
  }
  return false;
}

// Whether `test` (its holds ignored) holds when `f` does, if f decides it.
std::optional<bool> decided_by(const Fact& f, const Fact& test) {
  if (f.base != test.base) return std::nullopt;
  if (f.kind == Kind::Equal && f.holds) {
    // The bits of f.mask are known.
    if (test.kind == Kind::Equal && ((f.k ^ test.k) & f.mask & test.mask) != 0) return false;
    if ((test.mask & ~f.mask) == 0) return compare(test.kind, f.k & test.mask, test.k);
    return std::nullopt;
  }
  if (f.kind == Kind::Equal) {
    // (x & f.mask) != f.k: so x & test.mask is not a value that has f.k
    // in f's bits.
    bool within = (f.mask & ~test.mask) == 0 && (test.k & ~test.mask) == 0;
    if (test.kind == Kind::Equal && within && (test.k & f.mask) == f.k) return false;
    return std::nullopt;
  }
  if (f.mask != test.mask) return std::nullopt;
  auto [lo, hi] = bounds(f);
  switch (test.kind) {
    case Kind::Equal:
      if (test.k < lo || test.k > hi) return false;
      break;
    case Kind::Greater:
      if (lo > test.k) return true;
      if (hi <= test.k) return false;
      break;
    case Kind::GreaterEqual:
      if (lo >= test.k) return true;
      if (hi < test.k) return false;
      break;
  }
  return std::nullopt;
}

// The bytes a fixed read reads: [offset, offset + size).
struct Bytes {
  std::uint32_t offset = 0, size = 0;
  bool covers(const Bytes& o) const { return offset <= o.offset && o.offset + o.size <= offset + size; }
};

// Where reads behind the link shift lie among the bytes a load reads: far
// from any absolute offset, so that the two kinds never overlap.
constexpr std::uint32_t kBehindLinkShift = 0x80000000;

// The bytes a fixed read (fixed_read) reads; an indexed load has values
// only where it reads behind the link shift (Threader::after).
std::optional<Bytes> fixed_bytes(std::uint64_t load) {
  auto code = static_cast<std::uint16_t>(load >> 32);
  if (BPF_CLASS(code) != BPF_LD || (BPF_MODE(code) != BPF_ABS && BPF_MODE(code) != BPF_IND)) return std::nullopt;
  std::uint32_t size = BPF_SIZE(code) == BPF_W ? 4 : BPF_SIZE(code) == BPF_H ? 2 : 1;
  auto offset = static_cast<std::uint32_t>(load);
  if (BPF_MODE(code) == BPF_IND) {
    if (offset >= kBehindLinkShift) return std::nullopt;
    offset |= kBehindLinkShift;
  }
  return Bytes{offset, size};
}

// An Equal fact about one fixed read as a fact about another that reads
// some of the same bytes (`ld [0]` and `ldb [0]`): a held fact keeps the
// bits the other load reads, a failed one only moves when the other reads
// all of its bits.
std::optional<Fact> moved(const Fact& f, const Bytes& from, const Bytes& to, int to_base) {
  if (f.kind != Kind::Equal) return std::nullopt;
  std::uint32_t value_bits = from.size == 4 ? UINT32_MAX : (1u << (8 * from.size)) - 1;
  if ((f.k & ~(f.mask & value_bits)) != 0) return std::nullopt;  // never holds: left alone
  Fact out = f;
  out.base = to_base;
  out.mask = 0;
  out.k = 0;
  for (std::uint32_t i = 0; i < from.size; ++i) {
    std::uint32_t byte = from.offset + i;
    std::uint32_t shift = 8 * (from.size - 1 - i);
    std::uint32_t mask = (f.mask >> shift) & 0xff;
    if (mask == 0) continue;
    if (byte < to.offset || byte >= to.offset + to.size) {
      if (!f.holds) return std::nullopt;
      continue;
    }
    std::uint32_t to_shift = 8 * (to.offset + to.size - 1 - byte);
    out.mask |= mask << to_shift;
    out.k |= ((f.k >> shift) & 0xff) << to_shift;
  }
  if (out.mask == 0) return std::nullopt;
  return out;
}

bool is_conditional(const PendingInstruction& p) { return p.is_jump() && !p.is_unconditional_jump(); }

// A load that reads the same bytes wherever it runs: absolute, or behind
// the link shift, which stays the same for the whole frame.
bool fixed_read(const bpf_insn& insn) {
  return BPF_CLASS(insn.code) == BPF_LD && (BPF_MODE(insn.code) == BPF_ABS || x_holds_link_shift(insn));
}

// An instruction that only sets A and cannot end the program, but for a
// fixed read past the end of the packet: a load of the packet (absolute or
// behind the link shift) or of its length, or an operation with a constant
// (no division by zero).
bool only_sets_a(const bpf_insn& insn) {
  switch (BPF_CLASS(insn.code)) {
    case BPF_LD: return BPF_MODE(insn.code) == BPF_LEN || fixed_read(insn);
    case BPF_ALU: {
      std::uint32_t op = BPF_OP(insn.code);
      if (BPF_SRC(insn.code) == BPF_X) return x_holds_link_shift(insn) && op != BPF_DIV && op != BPF_MOD;
      return (op != BPF_DIV && op != BPF_MOD) || insn.k != 0;
    }
    default: return false;
  }
}

class Threader {
 public:
  explicit Threader(const PendingCode& code) : code_(code), at_(label_positions(code, 0)) {
    incoming_.resize(at_.size());
  }

  PendingCode run() {
    PendingCode out;
    out.reserve(code_.size());
    std::optional<State> now = State{};  // the program's start: nothing known
    for (std::size_t index = 0; index < code_.size(); ++index) {
      const PendingInstruction& p = code_[index];
      if (auto split = splits_.find(index); split != splits_.end()) {
        // Edges that go past a block's reload of the value A holds come in
        // here, after it.
        auto& in = incoming_[static_cast<std::size_t>(split->second)];
        if (in) {
          if (now) meet(*now, *in);
          else now = std::move(*in);
          in.reset();
          out.push_back(label_marker(split->second));
        }
      }
      if (p.is_label()) {
        auto& in = incoming_[static_cast<std::size_t>(p.label_here())];
        if (in) {
          if (now) meet(*now, *in);
          else now = std::move(*in);
          in.reset();
        }
        if (now) out.push_back(p);
        continue;
      }
      if (!now) continue;  // nothing reaches it
      PendingInstruction q = p;
      if (p.is_unconditional_jump()) {
        q.true_label = follow(*now, p.true_label);
        now.reset();
      } else if (is_conditional(p)) {
        std::optional<Fact> test = test_of(p, now->a);
        for (bool taken : {true, false}) {
          State edge = *now;
          if (test) add_fact(edge.facts, outcome(*test, p, taken));
          int& label = taken ? q.true_label : q.false_label;
          label = follow(std::move(edge), label);
        }
        now.reset();
      } else if (BPF_CLASS(p.insn.code) == BPF_RET) {
        now.reset();
      } else {
        now->a = after(p.insn, now->a);
        now->x_shift = x_shift_after(p.insn, now->x_shift);
      }
      out.push_back(std::move(q));
    }
    return out;
  }

 private:
  // The bytes of a value that is a fixed read and nothing else.
  std::optional<Bytes> plain_load(int id) const {
    const Expression& e = expressions_[static_cast<std::size_t>(id)];
    if (e.before != kUnknown) return std::nullopt;
    return load_bytes(e);
  }

  static std::optional<Bytes> load_bytes(const Expression& e) {
    if (e.load_size == 0) return std::nullopt;
    return Bytes{e.load_offset, e.load_size};
  }

  // Whether the facts decide `test`: facts about its value, and Equal facts
  // about a load of other bytes at overlapping offsets.
  std::optional<bool> decide(const std::vector<Fact>& facts, const Fact& test) const {
    std::optional<Bytes> test_bytes = plain_load(test.base);
    for (const Fact& f : facts) {
      if (f.base == test.base) {
        if (auto d = decided_by(f, test)) return d;
        continue;
      }
      if (!test_bytes) continue;
      std::optional<Bytes> fact_bytes = plain_load(f.base);
      if (!fact_bytes) continue;
      if (std::optional<Fact> m = moved(f, *fact_bytes, *test_bytes, test.base)) {
        if (auto d = decided_by(*m, test)) return d;
      }
    }
    return std::nullopt;
  }

  // The value of `last` applied to `before` (kUnknown: the load `last`).
  int intern(int before, std::uint64_t last) {
    auto [it, fresh] = ids_.try_emplace({before, last}, static_cast<int>(expressions_.size()));
    if (fresh) {
      std::uint64_t load = before == kUnknown ? last : expressions_[static_cast<std::size_t>(before)].load;
      std::optional<Bytes> bytes = fixed_bytes(load);
      expressions_.push_back({before, last, load, bytes ? bytes->offset : 0, bytes ? bytes->size : 0});
    }
    return it->second;
  }

  // What A holds after the instruction, given what it held before.
  int after(const bpf_insn& insn, int a) {
    switch (BPF_CLASS(insn.code)) {
      case BPF_LD:
        if (fixed_read(insn) || BPF_MODE(insn.code) == BPF_LEN) return intern(kUnknown, word(insn));
        return kUnknown;
      case BPF_ALU:
        if (a == kUnknown || (BPF_SRC(insn.code) == BPF_X && !x_holds_link_shift(insn))) return kUnknown;
        return intern(a, word(insn));
      case BPF_MISC:
        return BPF_MISCOP(insn.code) == BPF_TXA ? kUnknown : a;
      default:  // ldx, st, stx: A stays
        return a;
    }
  }

  // The compare of a conditional jump with a constant, as a fact that holds.
  std::optional<Fact> test_of(const PendingInstruction& p, int a) {
    if (a == kUnknown || BPF_SRC(p.insn.code) == BPF_X) return std::nullopt;
    const Expression& e = expressions_[static_cast<std::size_t>(a)];
    Fact f;
    f.holds = true;
    f.mask = UINT32_MAX;
    f.base = a;
    if (e.before != kUnknown && e.last >> 32 == (BPF_ALU | BPF_AND | BPF_K)) {
      f.mask = static_cast<std::uint32_t>(e.last);
      f.base = e.before;
    }
    f.k = p.insn.k;
    switch (BPF_OP(p.insn.code)) {
      case BPF_JEQ: f.kind = Kind::Equal; break;
      case BPF_JGT: f.kind = Kind::Greater; break;
      case BPF_JGE: f.kind = Kind::GreaterEqual; break;
      case BPF_JSET:
        f.kind = Kind::Equal;
        f.mask &= p.insn.k;
        f.k = 0;
        break;
      default: return std::nullopt;
    }
    return f;
  }

  // The fact that holds where the jump goes to `taken`'s side.
  static Fact outcome(Fact test, const PendingInstruction& p, bool taken) {
    bool jset = BPF_OP(p.insn.code) == BPF_JSET;
    test.holds = jset ? !taken : taken;
    return test;
  }

  // The load of an expression: done on the path if some fact's value or A's
  // starts with it.
  bool loaded(std::uint64_t load, const State& s, int a_at_edge) const {
    std::optional<Bytes> bytes = fixed_bytes(load);
    auto starts = [&](int id) {
      if (id == kUnknown) return false;
      const Expression& done = expressions_[static_cast<std::size_t>(id)];
      if (done.load == load) return true;
      std::optional<Bytes> done_bytes = load_bytes(done);
      return bytes && done_bytes && done_bytes->covers(*bytes);  // within a load that did not fail
    };
    if (starts(a_at_edge)) return true;
    return std::any_of(s.facts.begin(), s.facts.end(), [&](const Fact& f) { return starts(f.base); });
  }

  // Whether the code at `index` returns 0 straight away.
  bool returns_zero(std::size_t index) const {
    while (index < code_.size() && code_[index].is_label()) ++index;
    if (index >= code_.size()) return false;
    const bpf_insn& insn = code_[index].insn;
    return insn.code == (BPF_RET | BPF_K) && insn.k == 0;
  }

  // Whether the code at `index` sets A before it reads it.
  bool a_dead(std::size_t index) const {
    for (std::size_t steps = 0; index < code_.size() && steps < kMaxDeadScan; ++index, ++steps) {
      const PendingInstruction& p = code_[index];
      if (p.is_label()) continue;
      switch (BPF_CLASS(p.insn.code)) {
        case BPF_LD: return true;
        case BPF_LDX:
        case BPF_STX: continue;
        case BPF_RET: return BPF_RVAL(p.insn.code) == BPF_K;
        case BPF_JMP:
          if (!p.is_unconditional_jump()) return false;
          index = at_[static_cast<std::size_t>(p.true_label)];
          continue;
        default: return false;
      }
    }
    return false;
  }

  // Where an edge with `edge` holding on it can go instead of `label`, and
  // records what holds on it there.
  int follow(State edge, int label) {
    const int a_at_edge = edge.a;
    State walk = edge;
    int best = label;
    std::optional<std::vector<Fact>> best_facts;  // none: the edge's
    std::size_t index = at_[static_cast<std::size_t>(label)];
    // Gone past a load not done on the path, which ends the program with 0
    // on a packet too short for it: then only a return of 0 may end the
    // walk, the verdict the load would have given.
    bool may_have_failed = false;
    for (std::size_t steps = 0; steps < kMaxSteps; ++steps) {
      // Straight code up to the block's jump; only A computed from loads,
      // nothing that writes X or memory or may fail but such a load.
      while (index < code_.size() && code_[index].is_label()) ++index;
      bool plain = true;
      for (; index < code_.size() && !code_[index].ends_block(); ++index) {
        const PendingInstruction& p = code_[index];
        if (p.is_label()) continue;
        const bpf_insn& insn = p.insn;
        if (no_op_reload(insn, walk.x_shift)) continue;
        if (!only_sets_a(insn)) {
          plain = false;
          break;
        }
        if (fixed_read(insn) && !loaded(word(insn), walk, a_at_edge)) may_have_failed = true;
        walk.a = after(insn, walk.a);
        walk.x_shift = x_shift_after(insn, walk.x_shift);
      }
      if (!plain || index >= code_.size()) break;
      const PendingInstruction& end = code_[index];
      int next;
      if (end.is_unconditional_jump()) {
        next = end.true_label;
      } else if (is_conditional(end)) {
        std::optional<Fact> test = test_of(end, walk.a);
        if (!test) break;
        std::optional<bool> holds = decide(walk.facts, *test);
        if (!holds) break;
        bool taken = BPF_OP(end.insn.code) == BPF_JSET ? !*holds : *holds;
        add_fact(walk.facts, outcome(*test, end, taken));
        next = taken ? end.true_label : end.false_label;
      } else {
        break;  // a return
      }
      index = at_[static_cast<std::size_t>(next)];
      bool a_kept = (walk.a != kUnknown && walk.a == a_at_edge) || a_dead(index);
      if (a_kept && (!may_have_failed || returns_zero(index))) {
        best = next;
        best_facts = walk.facts;
      }
    }
    // A and X are what they were on the edge: the blocks gone past computed
    // nothing.
    State arriving{best_facts ? std::move(*best_facts) : std::move(edge.facts), a_at_edge, edge.x_shift};
    best = past_reload(best, a_at_edge);
    auto& in = incoming_[static_cast<std::size_t>(best)];
    if (in) meet(*in, arriving);
    else in = std::move(arriving);
    return best;
  }

  // Where an edge on which A holds `a` can go instead of `label`: past the
  // loads and constant operations that start the label's block and compute
  // what A already holds (`ld [0]; and #M` after a failed `jeq` of the
  // same), to a label placed after them. Those instructions only set A, and
  // their load cannot fail there: A holds its value, so it was done on the
  // path.
  int past_reload(int label, int a) {
    if (a == kUnknown) return label;
    std::size_t index = at_[static_cast<std::size_t>(label)];
    std::size_t after_reload = 0;
    int value = kUnknown;
    for (std::size_t steps = 0; index < code_.size() && steps < kMaxDeadScan; ++index, ++steps) {
      const PendingInstruction& p = code_[index];
      if (p.is_label()) {
        if (after_reload) break;  // another way in: stop before it
        continue;
      }
      if (p.ends_block()) break;
      if (!only_sets_a(p.insn)) break;
      value = after(p.insn, value);
      if (value == a) after_reload = index + 1;
    }
    if (!after_reload) return label;
    auto [split, fresh] = splits_.try_emplace(after_reload, static_cast<int>(incoming_.size()));
    if (fresh) incoming_.emplace_back();
    return split->second;
  }

  const PendingCode& code_;
  std::vector<std::size_t> at_;  // label -> its marker's index
  // Labels placed in the code by past_reload: instruction index -> label.
  std::map<std::size_t, int> splits_;
  std::vector<std::optional<State>> incoming_;
  struct PairHash {
    std::size_t operator()(const std::pair<int, std::uint64_t>& p) const {
      return std::hash<std::uint64_t>{}(p.second * 0x9e3779b97f4a7c15ULL ^ static_cast<std::uint64_t>(p.first));
    }
  };
  std::unordered_map<std::pair<int, std::uint64_t>, int, PairHash> ids_;  // (before, last) -> id
  std::vector<Expression> expressions_;
};

}  // namespace

PendingCode thread_jumps(const PendingCode& code) { return Threader(code).run(); }

}  // namespace p0fbpf
