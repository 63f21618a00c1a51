// The intermediate representation between a signature and BPF: boolean
// conditions over values computed from packet bytes. Offsets are relative to
// the first byte of the IP header; the code generator adds the link-layer
// offset. Values are immutable and shared; each has a canonical key, so that
// equal computations are recognised as equal.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/diagnostic.hpp"

namespace p0fbpf::ir {

enum class Width : std::uint8_t { Byte = 1, Half = 2, Word = 4 };
enum class BinaryOp { Add, Sub, Mul, Div, Mod, And, Or, Xor, Lsh, Rsh };

struct Value;
using ValuePtr = std::shared_ptr<const Value>;

struct Value {
  enum class Kind {
    Constant,
    Load,            // `width` bytes at base + offset (big-endian)
    PacketLength,    // the length of the packet as the filter sees it
    IpHeaderLength,  // 4 * (low nibble of the first byte): IPv4 IHL in bytes
    Binary,
    Variable,        // set by an Assign condition on every path that reads it
  };
  Kind kind = Kind::Constant;
  std::uint32_t constant = 0;
  Width width = Width::Byte;
  ValuePtr base;  // Load: null for an absolute offset
  std::uint32_t offset = 0;
  bool frame = false;  // Load: offset from the start of the frame, not of the IP header
  BinaryOp op = BinaryOp::Add;
  ValuePtr lhs, rhs;
  std::string key;  // canonical text, equal for equal computations

  bool is_constant() const { return kind == Kind::Constant; }
  // True if computing it needs the index register (an indexed load).
  bool uses_index() const;
};

ValuePtr constant(std::uint32_t value);
// Constants and loads at a fixed offset are one shared node each, watched
// by a table (weakly: a node no IR holds is freed). This drops the table's
// entries of the freed ones now, which it otherwise does when it has
// doubled: once a large IR is let go, each is a small block among its
// freed ones, and keeps their page resident.
void drop_unused_values();
ValuePtr load(Width width, std::uint32_t offset, ValuePtr base = nullptr);
// A load from the link-layer header: offset from the start of the frame.
ValuePtr frame_load(Width width, std::uint32_t offset);
ValuePtr packet_length();
ValuePtr ip_header_length();
// A named value that an Assign condition sets: a position whose offset depends
// on the path taken, like the TCP header of a program for both IP versions.
ValuePtr variable(const std::string& name);
// The variable, kept in X, that says how far the IP header lies behind its
// usual place (4 bytes behind an 802.1Q tag): what a branch's framing
// assigns (passes/link.hpp). Without a tag it is 0, which costs nothing:
// classic BPF programs start with X = 0.
ValuePtr link_shift_variable();
// Folds constant operands and identities (x+0, x*1, ...).
ValuePtr binary(BinaryOp op, ValuePtr lhs, ValuePtr rhs);
// The operation on two 32-bit numbers, as classic BPF's ALU does it, except
// that division by 0 gives 0 here, where a BPF program ends (evaluate()
// checks for it first).
std::uint32_t fold(BinaryOp op, std::uint32_t a, std::uint32_t b);
ValuePtr add(ValuePtr lhs, ValuePtr rhs);
ValuePtr add(ValuePtr lhs, std::uint32_t rhs);
ValuePtr sub(ValuePtr lhs, std::uint32_t rhs);
ValuePtr bit_and(ValuePtr lhs, std::uint32_t mask);

// A position in the packet: base (null = absolute) + offset.
struct Position {
  ValuePtr base;
  std::uint32_t offset = 0;

  Position advanced(std::uint32_t by) const { return {base, offset + by}; }
  ValuePtr value() const;  // as a value, for comparisons
  ValuePtr load(Width width, std::uint32_t extra = 0) const {
    return ir::load(width, offset + extra, base);
  }
  bool is_constant() const { return base == nullptr; }
};

enum class Relation {
  Equal,         // lhs == rhs
  Greater,       // lhs > rhs (unsigned)
  GreaterEqual,  // lhs >= rhs (unsigned)
  AnyBitSet,     // (lhs & rhs) != 0
};

// Whether `lhs relation rhs` holds, as BPF's jumps decide it.
bool relation_holds(Relation relation, std::uint32_t lhs, std::uint32_t rhs);

struct Condition;
using ConditionPtr = std::shared_ptr<const Condition>;

struct Condition {
  enum class Kind {
    Compare,
    All,     // every child holds (checked in order)
    Any,     // some child holds (checked in order)
    Select,  // children[0] ? children[1] : children[2]
    Constant,
    Assign,  // always holds; sets the variable lhs to rhs for what follows
  };
  Kind kind = Kind::Constant;
  Relation relation = Relation::Equal;
  bool negated = false;  // Compare: the relation must NOT hold
  ValuePtr lhs, rhs;
  std::vector<ConditionPtr> children;
  bool truth = true;  // Constant
  // The signature field this condition checks, e.g. "ttl" or "quirk df";
  // for a false Constant, why it can never hold.
  std::string field;
  // A false Constant's cause in the signature's text (the `id+` that DF
  // rules out), for the warning that the signature can never match.
  std::optional<Span> cause;
  // `packet length >= K` after the datagram was found to be K bytes long:
  // a later read of byte K-1 makes it redundant, since a truncated datagram
  // then ends the program with 0, and no branch accepts one.
  bool implied_by_last_byte = false;
  // Only keeps later reads inside the packet, so that one branch's read past
  // the end cannot end the program before another branch is tried; the
  // verdict does not depend on it otherwise.
  bool read_guard = false;
};

ConditionPtr compare(Relation relation, ValuePtr lhs, ValuePtr rhs, std::string field,
                     bool negated = false);
ConditionPtr eq(ValuePtr lhs, ValuePtr rhs, std::string field);
ConditionPtr eq(ValuePtr lhs, std::uint32_t rhs, std::string field);
ConditionPtr ne(ValuePtr lhs, ValuePtr rhs, std::string field);
ConditionPtr ne(ValuePtr lhs, std::uint32_t rhs, std::string field);
ConditionPtr gt(ValuePtr lhs, ValuePtr rhs, std::string field);
ConditionPtr gt(ValuePtr lhs, std::uint32_t rhs, std::string field);
ConditionPtr ge(ValuePtr lhs, ValuePtr rhs, std::string field);
ConditionPtr ge(ValuePtr lhs, std::uint32_t rhs, std::string field);
ConditionPtr lt(ValuePtr lhs, ValuePtr rhs, std::string field);
ConditionPtr lt(ValuePtr lhs, std::uint32_t rhs, std::string field);
ConditionPtr le(ValuePtr lhs, ValuePtr rhs, std::string field);
ConditionPtr le(ValuePtr lhs, std::uint32_t rhs, std::string field);
ConditionPtr bits_set(ValuePtr lhs, std::uint32_t mask, std::string field);
ConditionPtr bits_clear(ValuePtr lhs, std::uint32_t mask, std::string field);
// `holds` ? (some bit of mask set) : (no bit of mask set)
ConditionPtr bits_match(ValuePtr lhs, std::uint32_t mask, bool holds, std::string field);
ConditionPtr all(std::vector<ConditionPtr> children);
ConditionPtr any(std::vector<ConditionPtr> children);
ConditionPtr select(ConditionPtr test, ConditionPtr then, ConditionPtr otherwise);
ConditionPtr always();
ConditionPtr never(std::string reason, std::optional<Span> cause = std::nullopt);
ConditionPtr assign(ValuePtr variable, ValuePtr value, std::string field);
// The same condition, marked implied_by_last_byte.
ConditionPtr implied_by_last_byte(const ConditionPtr& condition);
// The same condition, marked read_guard.
ConditionPtr read_guard(const ConditionPtr& condition);
ConditionPtr negate(const ConditionPtr& condition);
// `holds` ? condition : !condition
ConditionPtr equivalent(const ConditionPtr& condition, bool holds);

// The same computation (the fields that only name what is checked may differ).
bool same_check(const ConditionPtr& a, const ConditionPtr& b);

// One past the last byte `condition` reads at a fixed offset from `base`
// (null: from the IP header); 0 if none. Reads of the frame (base null) are
// counted from the IP header too, behind a link header of `link_offset`
// bytes: they end at 0 unless they pass into the IP header.
std::uint32_t read_end(const ConditionPtr& condition, const Value* base, std::uint32_t link_offset = 0);

// The checks of an All, or the condition itself.
std::vector<ConditionPtr> conjuncts(const ConditionPtr& condition);

// One byte an equality check constrains: (byte & mask) == value.
struct ByteConstraint {
  ValuePtr load;           // the checked load: its base, whether it reads the frame
  std::uint32_t offset;    // of the byte, from the load's base
  std::uint8_t mask;       // never 0
  std::uint8_t value;
};
// The bytes `load == K` or `(load & M) == K` constrains; nullopt for any
// other check, and for one that can never hold (K outside M).
std::optional<std::vector<ByteConstraint>> byte_constraints(const ConditionPtr& condition);

bool is_never(const ConditionPtr& condition);
bool is_always(const ConditionPtr& condition);

// One alternative of a program: the packet is accepted if `condition` holds.
struct Branch {
  std::string label;  // e.g. "4:64:0:*:... (IPv4)"
  ConditionPtr condition;
  int ip_version = 4;               // of the packets it can accept; 0: both
  std::uint32_t link_offset = 0;    // where the IP header starts in the frame
  // Where the TCP header starts, from the IP header, when it is fixed.
  std::optional<std::uint32_t> tcp_offset = std::nullopt;
  // When the IP header's position is not fixed (an optional VLAN tag):
  // checks of the link-layer header that assign to
  // link_shift_variable() how far behind link_offset it lies. The IP-level
  // passes see `condition` as if the IP header were at link_offset;
  // resolve_link_base() then joins the two.
  ConditionPtr framing = nullptr;
  // Which of the compiled selection's signatures the branch accepts for
  // (its index there): what the program returns, plus one, under
  // CodegenOptions::verdict_per_signature.
  std::uint32_t signature = 0;
};

// Whether two branches are for the same IP version behind the same link
// header (offset and framing): passes that sort or rewrite branches side by
// side keep to such runs.
bool same_run(const Branch& a, const Branch& b);

struct Program {
  std::vector<Branch> branches;
  // When not empty, the program decides only about the packets that one of
  // these branches accepts (syn_gate.hpp): every other packet gets the
  // gate's verdict (CodegenOptions::outside_gate), whatever `branches` and
  // negation say. Framed and resolved like the branches; no other pass
  // touches it.
  std::vector<Branch> gate = {};
  // When set, run once before the branches (after the gate): link-layer
  // checks and assignments that hold for every branch, such as where the IP
  // header lies behind an optional 802.1Q tag (link.hpp frame_once). It
  // always holds; the branches read what it assigns. No other pass touches
  // it.
  ConditionPtr framing = nullptr;
};

// A readable dump, one condition per line, for tests and debugging.
std::string to_string(const ConditionPtr& condition, int indent = 0);

// Every branch with its label, IP version, offsets, framing and condition
// (p0fbpf --print-ir). Stable: equal programs print the same text.
std::string to_string(const Program& program);

// The same program, field for field: what a pass that changed nothing returns.
bool identical(const ConditionPtr& a, const ConditionPtr& b);
bool identical(const Program& a, const Program& b);

}  // namespace p0fbpf::ir
