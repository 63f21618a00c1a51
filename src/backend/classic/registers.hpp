// Register and scratch-memory tracking for code generation: brings IR values
// into A and X with as few instructions as what the registers and scratch
// words are known to hold allows, and keeps values needed again in scratch
// memory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ir/ir.hpp"
#include "backend/classic/pending_code.hpp"

namespace p0fbpf {

inline constexpr int kScratchSlots = 16;  // BPF_MEMWORDS

// What the registers and scratch memory are known to hold, by value key.
struct MachineState {
  std::string a;
  std::string x;
  std::map<std::string, int> scratch;  // value key -> slot
  // Variables assigned on every path here: not register contents, but it
  // flows and meets along with them.
  std::set<std::string> assigned;

  // What holds on both of two paths that join.
  static MachineState meet(const MachineState& l, const MachineState& r);
};

class Registers {
 public:
  // `spilled`: variables kept in scratch memory from their assignment on,
  // each in a slot of its own (from the last slot down, in this order).
  // Instructions go to the end of `code`.
  Registers(PendingCode& code, const std::vector<std::string>& spilled);

  // Counts how often each value occurs in a branch's `condition`, to decide
  // what is worth keeping in scratch memory while its code is generated;
  // forgets the previous branch's counts (each branch starts afresh).
  void count_branch_uses(const ir::ConditionPtr& condition);
  // Lets the counts go once the code is generated.
  void forget_uses();

  MachineState& state() { return state_; }
  // The state a branch starts from, its IP header `link_offset` bytes into
  // the frame. `carried`: a variable the program's framing assigned for
  // every branch (the link shift): where X or scratch memory holds it on
  // every way in, it still does.
  void start_branch(std::uint32_t link_offset, bool first_branch, const std::string* carried = nullptr);
  std::uint32_t link_offset() const { return link_offset_; }

  // What the instructions emitted from now on check (their comment).
  void set_comment(const std::string& comment);
  SharedComment comment() const { return comment_; }
  // The text, kept as long as the registers (for comments set otherwise).
  SharedComment intern(const std::string& comment);
  void emit(std::uint16_t code, std::uint32_t k);

  void into_a(const ir::ValuePtr& v);
  void into_x(const ir::ValuePtr& v);
  // A = lhs, X = rhs.
  void pair(const ir::ValuePtr& lhs, const ir::ValuePtr& rhs);
  // variable = value: the value in X, and in its slot if spilled.
  void assign(const ir::ValuePtr& variable, const ir::ValuePtr& value);

  // The variables that some use found neither in X nor in scratch memory
  // (X may hold something else there on some path from the assignment), in
  // the order of their first such use: the code emitted is then wrong,
  // unless they are spilled.
  const std::vector<std::string>& missing_variables() const { return missing_; }
  // The first variable read where some path did not assign it.
  const std::optional<std::string>& unassigned_variable() const { return unassigned_; }

 private:
  void count_uses(const ir::ConditionPtr& condition);
  void count_value_uses(const ir::ValuePtr& v);
  void note_missing(const ir::ValuePtr& v);
  void mark_if_link_shift(const ir::ValuePtr& in_x);
  void remember(const ir::ValuePtr& v);
  int take_slot();
  int free_slot() const;

  PendingCode& code_;
  MachineState state_;
  SharedComment comment_ = nullptr;
  std::unordered_set<std::string> comments_;  // each text once (nodes do not move)
  std::uint32_t link_offset_ = 0;  // of the branch being generated
  std::unordered_map<std::string, int> uses_;         // as the base of an indexed load
  std::unordered_map<std::string, int> occurrences_;  // of each value in the checks
  std::string previous_lhs_;                          // while counting
  std::map<std::string, int> reserved_;               // spilled variable -> its scratch slot
  std::vector<std::string> missing_;
  std::optional<std::string> unassigned_;
};

}  // namespace p0fbpf
