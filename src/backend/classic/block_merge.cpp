#include "backend/classic/block_merge.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace p0fbpf {
namespace {

constexpr std::uint32_t kNone = UINT32_MAX;

struct Block {
  std::uint32_t begin = 0;              // its first label marker in the code
  std::uint32_t first_instruction = 0;  // after the label markers
  std::uint32_t end = 0;                // one past the jump or return that ends it
  bool entered_by_falling_through = false;
  bool removed = false;
};

// Labels, then instructions up to the first jump or return; a label before
// that starts no block.
std::vector<Block> find_blocks(const PendingCode& code) {
  std::vector<Block> blocks;
  const PendingInstruction* previous_instruction = nullptr;
  for (std::size_t i = 0; i < code.size();) {
    if (!code[i].is_label()) {
      previous_instruction = &code[i];
      ++i;
      continue;
    }
    std::size_t first = i;
    while (first < code.size() && code[first].is_label()) ++first;
    std::size_t last = first;
    while (last < code.size() && !code[last].is_label() && !code[last].ends_block()) ++last;
    if (last < code.size() && !code[last].is_label()) {
      Block block;
      block.begin = static_cast<std::uint32_t>(i);
      block.first_instruction = static_cast<std::uint32_t>(first);
      block.end = static_cast<std::uint32_t>(last + 1);
      block.entered_by_falling_through = previous_instruction && !previous_instruction->ends_block();
      blocks.push_back(block);
    }
    i = first;
  }
  return blocks;
}

// Merges blocks in the order of a scan that takes, again and again, the
// first block that another one after it equals, and merges it into the
// nearest such one; a merge renames labels, which can make blocks before
// it equal. Block contents are hashed, so a merge costs the blocks that
// jump to the removed one, not a new scan.
//
// Memory is flat, a few words per block and per label: blocks of equal
// contents (as the labels are now named) form a list in code order, linked
// through the blocks; an open-addressed table finds a list's first block
// by the contents' hash, and equal hashes are told apart by comparing the
// instructions in place.
class BlockMerger {
 public:
  explicit BlockMerger(PendingCode code) : code_(std::move(code)), blocks_(find_blocks(code_)) {
    const int labels = label_count(code_);
    renamed_to_.assign(static_cast<std::size_t>(labels), -1);
    absorbed_first_.assign(static_cast<std::size_t>(labels), -1);
    absorbed_next_.assign(static_cast<std::size_t>(labels), -1);
    // Who jumps to each label, in compressed rows.
    referrer_begin_.assign(static_cast<std::size_t>(labels) + 1, 0);
    for_each_jump([&](int label, std::uint32_t) { ++referrer_begin_[static_cast<std::size_t>(label) + 1]; });
    for (std::size_t l = 0; l < static_cast<std::size_t>(labels); ++l) referrer_begin_[l + 1] += referrer_begin_[l];
    referrers_.resize(referrer_begin_.back());
    {
      std::vector<std::uint32_t> fill(referrer_begin_.begin(), referrer_begin_.end() - 1);
      for_each_jump([&](int label, std::uint32_t b) { referrers_[fill[static_cast<std::size_t>(label)]++] = b; });
    }
    hash_.resize(blocks_.size());
    previous_.assign(blocks_.size(), kNone);
    next_.assign(blocks_.size(), kNone);
    std::size_t capacity = 16;
    while (capacity < 2 * blocks_.size()) capacity *= 2;
    table_.assign(capacity, kNone);
    for (std::uint32_t b = 0; b < blocks_.size(); ++b) {
      hash_[b] = content_hash(b);
      join_class(b);
    }
  }

  PendingCode run() {
    while (!mergeable_.empty()) {
      std::uint32_t b = mergeable_.top();
      mergeable_.pop();
      if (!blocks_[b].removed && next_[b] != kNone && can_go(b)) merge(b);
    }
    // What stays moves down in place: no second copy of a large program.
    std::size_t kept = 0;
    std::size_t next_block = 0;
    for (std::size_t i = 0; i < code_.size(); ++i) {
      while (next_block < blocks_.size() && blocks_[next_block].end <= i) ++next_block;
      if (next_block < blocks_.size() && blocks_[next_block].removed && blocks_[next_block].begin <= i) continue;
      PendingInstruction& p = code_[i];
      if (p.true_label >= 0) p.true_label = renamed(p.true_label);
      if (p.false_label >= 0) p.false_label = renamed(p.false_label);
      if (kept != i) code_[kept] = std::move(p);
      ++kept;
    }
    code_.resize(kept);
    return std::move(code_);
  }

 private:
  static constexpr std::uint32_t kTombstone = UINT32_MAX - 1;

  template <typename F>
  void for_each_jump(F&& f) const {
    for (std::uint32_t b = 0; b < blocks_.size(); ++b) {
      for (std::size_t i = blocks_[b].first_instruction; i < blocks_[b].end; ++i) {
        for (int label : {code_[i].true_label, code_[i].false_label}) {
          if (label >= 0) f(label, b);
        }
      }
    }
  }

  int renamed(int label) {
    int target = label;
    while (target >= 0 && renamed_to_[static_cast<std::size_t>(target)] >= 0) {
      target = renamed_to_[static_cast<std::size_t>(target)];
    }
    // Path compression: every label on the way now points at the end.
    while (label >= 0 && renamed_to_[static_cast<std::size_t>(label)] >= 0) {
      int next = renamed_to_[static_cast<std::size_t>(label)];
      renamed_to_[static_cast<std::size_t>(label)] = target;
      label = next;
    }
    return target;
  }

  // The fields blocks are compared by: the instruction, with the mark
  // pending code keeps in jf (kXHoldsLinkShift: the same load with and
  // without it reads different bytes), and its jump targets as the labels
  // are now named (UINT32_MAX for none).
  struct Fields {
    std::uint32_t code, k, true_target, false_target;
    bool operator==(const Fields&) const = default;
  };
  Fields fields(std::size_t i) {
    const PendingInstruction& p = code_[i];
    std::uint32_t code = p.insn.code | std::uint32_t{p.insn.jf} << 16;
    return {code, p.insn.k, p.true_label < 0 ? UINT32_MAX : static_cast<std::uint32_t>(renamed(p.true_label)),
            p.false_label < 0 ? UINT32_MAX : static_cast<std::uint32_t>(renamed(p.false_label))};
  }

  std::uint64_t content_hash(std::uint32_t b) {
    std::uint64_t h = 0x9e3779b97f4a7c15ULL ^ (blocks_[b].end - blocks_[b].first_instruction);
    auto mix = [&](std::uint32_t v) {
      h ^= v;
      h *= 0xff51afd7ed558ccdULL;
      h ^= h >> 32;
    };
    for (std::size_t i = blocks_[b].first_instruction; i < blocks_[b].end; ++i) {
      Fields f = fields(i);
      mix(f.code);
      mix(f.k);
      mix(f.true_target);
      mix(f.false_target);
    }
    return h;
  }

  bool same_contents(std::uint32_t a, std::uint32_t b) {
    if (hash_[a] != hash_[b]) return false;
    std::size_t length = blocks_[a].end - blocks_[a].first_instruction;
    if (blocks_[b].end - blocks_[b].first_instruction != length) return false;
    for (std::size_t i = 0; i < length; ++i) {
      if (!(fields(blocks_[a].first_instruction + i) == fields(blocks_[b].first_instruction + i))) return false;
    }
    return true;
  }

  // Only blocks that nothing falls into can go, into a later equal one.
  bool can_go(std::uint32_t b) const { return !blocks_[b].entered_by_falling_through; }

  std::size_t slot_start(std::uint64_t hash) const { return static_cast<std::size_t>(hash) & (table_.size() - 1); }

  // The table slot of the class of blocks equal to b (its first block
  // there), or the first free slot on b's probe sequence.
  std::size_t find_slot(std::uint32_t b, bool& found) {
    std::size_t free = SIZE_MAX;
    for (std::size_t s = slot_start(hash_[b]);; s = (s + 1) & (table_.size() - 1)) {
      std::uint32_t first = table_[s];
      if (first == kNone) {
        found = false;
        return free != SIZE_MAX ? free : s;
      }
      if (first == kTombstone) {
        if (free == SIZE_MAX) free = s;
        continue;
      }
      if (same_contents(first, b)) {
        found = true;
        return s;
      }
    }
  }

  // The slot that holds `first`, the first block of its class.
  std::size_t slot_of(std::uint32_t first) const {
    for (std::size_t s = slot_start(hash_[first]);; s = (s + 1) & (table_.size() - 1)) {
      if (table_[s] == first) return s;
    }
  }

  void grow_if_full() {
    if (4 * (used_ + 1) <= 3 * table_.size()) return;
    std::vector<std::uint32_t> old = std::move(table_);
    std::size_t live = 0;
    for (std::uint32_t first : old) live += first < kTombstone;
    std::size_t capacity = old.size();
    while (2 * (live + 1) > capacity) capacity *= 2;
    table_.assign(capacity, kNone);
    used_ = live;
    for (std::uint32_t first : old) {
      if (first >= kTombstone) continue;
      std::size_t s = slot_start(hash_[first]);
      while (table_[s] != kNone) s = (s + 1) & (table_.size() - 1);
      table_[s] = first;
    }
  }

  void join_class(std::uint32_t b) {
    grow_if_full();
    bool found = false;
    std::size_t s = find_slot(b, found);
    if (!found) {
      if (table_[s] == kNone) ++used_;
      table_[s] = b;
      previous_[b] = next_[b] = kNone;
      return;
    }
    std::uint32_t first = table_[s];
    if (b < first) {
      previous_[b] = kNone;
      next_[b] = first;
      previous_[first] = b;
      table_[s] = b;
      if (can_go(b)) mergeable_.push(b);
      return;
    }
    std::uint32_t before = first;
    while (next_[before] != kNone && next_[before] < b) before = next_[before];
    previous_[b] = before;
    next_[b] = next_[before];
    if (next_[b] != kNone) previous_[next_[b]] = b;
    next_[before] = b;
    if (next_[b] != kNone) {
      if (can_go(b)) mergeable_.push(b);
    } else if (can_go(before)) {
      mergeable_.push(before);
    }
  }

  // Mergeable blocks are found again when taken from the queue, so leaving
  // only unlinks.
  void leave_class(std::uint32_t b) {
    if (previous_[b] == kNone) {
      std::size_t s = slot_of(b);
      if (next_[b] == kNone) {
        table_[s] = kTombstone;
      } else {
        table_[s] = next_[b];
        previous_[next_[b]] = kNone;
      }
    } else {
      next_[previous_[b]] = next_[b];
      if (next_[b] != kNone) previous_[next_[b]] = previous_[b];
    }
    previous_[b] = next_[b] = kNone;
  }

  // Calls f for every block that jumps to `label` or to a label renamed to it.
  template <typename F>
  void for_each_referrer(int label, F&& f) {
    std::vector<int>& stack = stack_;
    stack.assign(1, label);
    while (!stack.empty()) {
      int l = stack.back();
      stack.pop_back();
      for (std::uint32_t r = referrer_begin_[static_cast<std::size_t>(l)]; r < referrer_begin_[static_cast<std::size_t>(l) + 1]; ++r) {
        f(referrers_[r]);
      }
      for (int a = absorbed_first_[static_cast<std::size_t>(l)]; a >= 0; a = absorbed_next_[static_cast<std::size_t>(a)]) {
        stack.push_back(a);
      }
    }
  }

  void merge(std::uint32_t gone) {
    std::uint32_t kept = next_[gone];
    int keep = code_[blocks_[kept].begin].label_here();
    leave_class(gone);
    blocks_[gone].removed = true;
    changed_.clear();
    for (std::size_t m = blocks_[gone].begin; m < blocks_[gone].first_instruction; ++m) {
      int label = code_[m].label_here();
      renamed_to_[static_cast<std::size_t>(label)] = keep;
      for_each_referrer(label, [&](std::uint32_t b) { changed_.push_back(b); });
      absorbed_next_[static_cast<std::size_t>(label)] = absorbed_first_[static_cast<std::size_t>(keep)];
      absorbed_first_[static_cast<std::size_t>(keep)] = label;
    }
    // A block that jumps to a renamed label has new contents: it moves to
    // the class of those. All leave first, so that the classes they join
    // hold only blocks whose hash is that of their contents now.
    std::sort(changed_.begin(), changed_.end());
    changed_.erase(std::unique(changed_.begin(), changed_.end()), changed_.end());
    std::erase_if(changed_, [&](std::uint32_t b) { return blocks_[b].removed; });
    for (std::uint32_t b : changed_) leave_class(b);
    for (std::uint32_t b : changed_) {
      hash_[b] = content_hash(b);
      join_class(b);
    }
  }

  PendingCode code_;
  std::vector<Block> blocks_;  // in code order
  std::vector<std::uint64_t> hash_;  // per block: of its contents as the labels are now named
  std::vector<std::uint32_t> previous_, next_;  // per block: the equal blocks before and after it
  std::vector<std::uint32_t> table_;  // open addressing: the first block of each class, kNone, kTombstone
  std::size_t used_ = 0;  // slots not kNone
  // Blocks that could go when pushed; checked again when taken.
  std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, std::greater<>> mergeable_;
  std::vector<std::uint32_t> referrer_begin_, referrers_;  // label -> blocks that jump to it (at the start)
  std::vector<int> absorbed_first_, absorbed_next_;  // label -> labels renamed to it (a list through the labels)
  std::vector<int> renamed_to_;  // label of a removed block -> the label that replaces it, or -1
  std::vector<std::uint32_t> changed_;
  std::vector<int> stack_;
};

}  // namespace

PendingCode merge_identical_blocks(PendingCode code) { return BlockMerger(std::move(code)).run(); }

}  // namespace p0fbpf
