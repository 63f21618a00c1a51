#include "backend/classic/block_merge.hpp"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <set>
#include <string>
#include <unordered_map>

namespace p0fbpf {
namespace {

struct Block {
  std::size_t begin = 0;              // its first label marker in the code
  std::size_t first_instruction = 0;  // after the label markers
  std::size_t end = 0;                // one past the jump or return that ends it
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
      block.begin = i;
      block.first_instruction = first;
      block.end = last + 1;
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
class BlockMerger {
 public:
  explicit BlockMerger(PendingCode code) : code_(std::move(code)), blocks_(find_blocks(code_)) {
    for (std::size_t b = 0; b < blocks_.size(); ++b) {
      for (std::size_t i = blocks_[b].first_instruction; i < blocks_[b].end; ++i) {
        for (int label : {code_[i].true_label, code_[i].false_label}) {
          if (label >= 0) jumping_to_[label].push_back(b);
        }
      }
      keys_.push_back(content_key(b));
      join_class(b);
    }
  }

  PendingCode run() {
    while (!mergeable_.empty()) merge(*mergeable_.begin());
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
  int renamed(int label) {
    auto it = renamed_to_.find(label);
    if (it == renamed_to_.end()) return label;
    int target = renamed(it->second);
    it->second = target;
    return target;
  }

  // The instructions and their jump targets, as the labels are now named.
  std::string content_key(std::size_t b) {
    std::string key;
    for (std::size_t i = blocks_[b].first_instruction; i < blocks_[b].end; ++i) {
      const PendingInstruction& p = code_[i];
      std::uint32_t fields[] = {p.insn.code, p.insn.k, static_cast<std::uint32_t>(renamed(p.true_label)),
                                static_cast<std::uint32_t>(renamed(p.false_label))};
      if (p.true_label < 0) fields[2] = UINT32_MAX;
      if (p.false_label < 0) fields[3] = UINT32_MAX;
      key.append(reinterpret_cast<const char*>(fields), sizeof fields);
    }
    return key;
  }

  // Only blocks that nothing falls into can go, into a later equal one.
  bool can_go(std::size_t b) const { return !blocks_[b].entered_by_falling_through; }

  void join_class(std::size_t b) {
    std::set<std::size_t>& members = classes_[keys_[b]];
    auto it = members.insert(b).first;
    bool last = std::next(it) == members.end();
    if (!last && can_go(b)) mergeable_.insert(b);
    if (last && it != members.begin() && can_go(*std::prev(it))) mergeable_.insert(*std::prev(it));
  }

  void leave_class(std::size_t b) {
    auto members = classes_.find(keys_[b]);
    auto it = members->second.find(b);
    bool last = std::next(it) == members->second.end();
    if (last && it != members->second.begin()) mergeable_.erase(*std::prev(it));
    mergeable_.erase(b);
    members->second.erase(it);
    if (members->second.empty()) classes_.erase(members);
  }

  void merge(std::size_t gone) {
    const std::set<std::size_t>& members = classes_.at(keys_[gone]);
    std::size_t kept = *std::next(members.find(gone));
    int keep = code_[blocks_[kept].begin].label_here;
    leave_class(gone);
    blocks_[gone].removed = true;
    std::vector<std::size_t> changed;
    for (std::size_t m = blocks_[gone].begin; m < blocks_[gone].first_instruction; ++m) {
      int label = code_[m].label_here;
      renamed_to_[label] = keep;
      std::vector<std::size_t>& to_keep = jumping_to_[keep];  // before find: it may rehash
      auto referrers = jumping_to_.find(label);
      if (referrers == jumping_to_.end()) continue;
      for (std::size_t b : referrers->second) {
        to_keep.push_back(b);
        changed.push_back(b);
      }
      jumping_to_.erase(label);
    }
    for (std::size_t b : changed) {
      if (blocks_[b].removed) continue;
      std::string key = content_key(b);
      if (key == keys_[b]) continue;
      leave_class(b);
      keys_[b] = std::move(key);
      join_class(b);
    }
  }

  PendingCode code_;
  std::vector<Block> blocks_;  // in code order
  std::vector<std::string> keys_;  // per block
  std::unordered_map<std::string, std::set<std::size_t>> classes_;  // key -> equal blocks
  std::set<std::size_t> mergeable_;  // blocks that can go and have a later equal one
  std::unordered_map<int, std::vector<std::size_t>> jumping_to_;  // label -> blocks with jumps to it
  std::unordered_map<int, int> renamed_to_;  // label of a removed block -> the label that replaces it
};

}  // namespace

PendingCode merge_identical_blocks(PendingCode code) { return BlockMerger(std::move(code)).run(); }

}  // namespace p0fbpf
