#include "p0fbpf/fingerprint.hpp"

#include <algorithm>
#include <cstring>

#include "p0fbpf/capture.hpp"

namespace p0fbpf {
namespace {

std::uint64_t hash_of(const SignatureFields& fields) {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(&fields), sizeof fields));
}

bool same(const SignatureFields& a, const SignatureFields& b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

std::optional<PacketFacts> fingerprint_facts(LinkType link, const std::uint8_t* frame, std::size_t length,
                                             Direction direction) {
  std::optional<std::size_t> offset = ip_offset(link, frame, length);
  if (!offset) return std::nullopt;
  std::optional<PacketFacts> facts = analyze_packet(frame + *offset, length - *offset);
  if (!facts) return std::nullopt;
  bool wanted = direction == Direction::Request ? facts->is_syn() : facts->is_syn_ack();
  if (!wanted) return std::nullopt;
  return facts;
}

std::optional<std::string> fingerprint_frame(LinkType link, const std::uint8_t* frame, std::size_t length,
                                             Direction direction) {
  auto facts = fingerprint_facts(link, frame, length, direction);
  if (!facts) return std::nullopt;
  return raw_signature(*facts);
}

struct SignatureCounter::Table {
  struct Entry {
    SignatureFields fields;
    std::uint32_t count = 0;
  };
  static constexpr std::uint32_t kBlockSize = 4096;
  // A slot holds an entry's hash (high half), to skip entries that cannot
  // be equal and to rehash without reading them, and its index + 1 (0: empty).
  std::vector<std::uint64_t> slots = std::vector<std::uint64_t>(1024);
  std::vector<std::vector<Entry>> blocks;  // each reserved once, so entries never move
  std::uint32_t size = 0;

  const Entry& entry(std::uint32_t index) const { return blocks[index / kBlockSize][index % kBlockSize]; }
  Entry& entry(std::uint32_t index) { return blocks[index / kBlockSize][index % kBlockSize]; }
  void add(const SignatureFields& fields);
  void grow();
};

SignatureCounter::SignatureCounter() : table_(std::make_unique<Table>()) {}
SignatureCounter::~SignatureCounter() = default;
SignatureCounter::SignatureCounter(SignatureCounter&&) noexcept = default;
SignatureCounter& SignatureCounter::operator=(SignatureCounter&&) noexcept = default;

void SignatureCounter::add(const PacketFacts& facts) { table_->add(signature_fields(facts)); }

std::size_t SignatureCounter::distinct() const { return table_->size; }

std::size_t SignatureCounter::count(std::uint32_t index) const { return table_->entry(index).count; }

void SignatureCounter::append_signature(std::uint32_t index, std::string& out) const {
  p0fbpf::append_signature(table_->entry(index).fields, out);
}

void SignatureCounter::Table::add(const SignatureFields& fields) {
  const std::uint64_t hash = hash_of(fields) & 0xffffffff00000000u;
  const std::size_t mask = slots.size() - 1;
  for (std::size_t i = (hash >> 32) & mask;; i = (i + 1) & mask) {
    std::uint64_t& slot = slots[i];
    if (slot == 0) {
      if (size % kBlockSize == 0) blocks.emplace_back().reserve(kBlockSize);
      blocks.back().push_back({fields, 1});
      slot = hash | ++size;
      if (std::size_t{size} * 2 > slots.size()) grow();
      return;
    }
    if ((slot & 0xffffffff00000000u) != hash) continue;
    Entry& seen = entry(static_cast<std::uint32_t>(slot) - 1);
    if (same(seen.fields, fields)) {
      ++seen.count;
      return;
    }
  }
}

void SignatureCounter::Table::grow() {
  std::vector<std::uint64_t> old(slots.size() * 2);
  std::swap(old, slots);
  const std::size_t mask = slots.size() - 1;
  for (std::uint64_t slot : old) {
    if (slot == 0) continue;
    std::size_t i = (slot >> 32) & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = slot;
  }
}

std::vector<std::uint32_t> SignatureCounter::most_frequent(std::size_t top) const {
  // Sorted as (count, index) pairs, read in one pass over the blocks: no
  // lookup per comparison.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ranked;
  ranked.reserve(table_->size);
  std::uint32_t index = 0;
  for (const auto& block : table_->blocks) {
    for (const Table::Entry& e : block) ranked.emplace_back(e.count, index++);
  }
  auto first = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::size_t keep = top && top < ranked.size() ? top : ranked.size();
  if (keep < ranked.size()) std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(), first);
  else std::sort(ranked.begin(), ranked.end(), first);
  std::vector<std::uint32_t> order(keep);
  for (std::size_t i = 0; i < keep; ++i) order[i] = ranked[i].second;
  return order;
}

}  // namespace p0fbpf
