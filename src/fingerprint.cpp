#include "p0fbpf/fingerprint.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <utility>

#include "p0fbpf/capture.hpp"
#include "zeroed_pages.hpp"

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
  // Entries live in blocks of one huge page each, which never move.
  static constexpr std::uint32_t kBlockSize = (std::uint32_t{2} << 20) / sizeof(Entry);
  // A slot holds an entry's hash (high half), to skip entries that cannot
  // be equal and to rehash without reading them, and its index + 1 (0: empty).
  ZeroedPages slot_pages{1024 * sizeof(std::uint64_t)};
  std::uint64_t* slots = static_cast<std::uint64_t*>(slot_pages.data());
  std::size_t slot_count = 1024;
  std::vector<ZeroedPages> blocks;
  std::uint32_t size = 0;

  Entry* block(std::uint32_t index) const { return static_cast<Entry*>(blocks[index / kBlockSize].data()); }
  const Entry& entry(std::uint32_t index) const { return block(index)[index % kBlockSize]; }
  Entry& entry(std::uint32_t index) { return block(index)[index % kBlockSize]; }
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
  const std::size_t mask = slot_count - 1;
  for (std::size_t i = (hash >> 32) & mask;; i = (i + 1) & mask) {
    std::uint64_t& slot = slots[i];
    if (slot == 0) {
      if (size % kBlockSize == 0) blocks.emplace_back(std::size_t{kBlockSize} * sizeof(Entry));
      new (&entry(size)) Entry{fields, 1};
      slot = hash | ++size;
      if (std::size_t{size} * 2 > slot_count) grow();
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
  ZeroedPages old_pages = std::exchange(slot_pages, ZeroedPages(slot_count * 2 * sizeof(std::uint64_t)));
  const std::uint64_t* old = slots;
  const std::size_t old_count = slot_count;
  slots = static_cast<std::uint64_t*>(slot_pages.data());
  slot_count *= 2;
  const std::size_t mask = slot_count - 1;
  for (std::size_t k = 0; k < old_count; ++k) {
    std::uint64_t slot = old[k];
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
  for (std::uint32_t index = 0; index < table_->size; ++index) ranked.emplace_back(table_->entry(index).count, index);
  auto first = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  std::size_t keep = top && top < ranked.size() ? top : ranked.size();
  if (keep < ranked.size()) std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(), first);
  else std::sort(ranked.begin(), ranked.end(), first);
  std::vector<std::uint32_t> order(keep);
  for (std::size_t i = 0; i < keep; ++i) order[i] = ranked[i].second;
  return order;
}

}  // namespace p0fbpf
