#include "p0fbpf/fingerprint.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <new>
#include <utility>

#include "p0fbpf/capture.hpp"
#include "capture/most_fingerprints.hpp"
#include "p0f/fields_hash.hpp"
#include "capture/zeroed_pages.hpp"

namespace p0fbpf {
namespace {

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
    std::uint16_t window = 0;  // the first packet's window field
  };
  // Entries live in blocks of one huge page each, which never move.
  static constexpr std::size_t kBlockBytes = std::size_t{2} << 20;
  static constexpr std::uint32_t kBlockSize = kBlockBytes / sizeof(Entry);
  // A slot holds an entry's hash (high half), to skip entries that cannot
  // be equal and to rehash without reading them, and its index + 1 (0: empty).
  explicit Table(std::size_t slot_count_)
      : slot_pages(slot_count_ * sizeof(std::uint64_t)),
        slots(static_cast<std::uint64_t*>(slot_pages.data())),
        slot_count(slot_count_) {}
  ZeroedPages slot_pages;
  std::uint64_t* slots;
  std::size_t slot_count;  // a power of two
  std::vector<ZeroedPages> blocks;
  std::uint32_t size = 0;
  FieldsHash hash_of;

  // The last signatures added, not yet in the table, in a ring: a
  // signature's slot is prefetched when it comes, the entry that slot names
  // two signatures later, and it is counted two more later, so that its
  // cache misses overlap with reading the next packets.
  struct Waiting {
    SignatureFields fields;
    std::uint16_t window;
    std::uint64_t hash;
  };
  static constexpr std::size_t kWaiting = 4;
  std::array<Waiting, kWaiting> waiting;
  std::size_t added = 0;  // signatures added: waiting[added % kWaiting] is the oldest when full
  std::size_t counted = 0;

  Entry* block(std::uint32_t index) const { return static_cast<Entry*>(blocks[index / kBlockSize].data()); }
  const Entry& entry(std::uint32_t index) const { return block(index)[index % kBlockSize]; }
  Entry& entry(std::uint32_t index) { return block(index)[index % kBlockSize]; }
  void add(const SignatureFields& fields, std::uint16_t window);
  // Puts the waiting signatures in the table.
  void settle();
  void prefetch_entry(std::uint64_t hash) const;
  void insert(const SignatureFields& fields, std::uint16_t window, std::uint64_t hash);
  void grow();
};

namespace {

constexpr std::size_t kFewestSlots = 1024;
// A presized table stops at 2 MiB of slots (room for 131,072 signatures):
// an estimate is an upper bound, and more than that grows as it is used.
constexpr std::size_t kMostPresizedSlots = std::size_t{1} << 18;

// Slots for `expected` signatures at most half full.
std::size_t slots_for(std::size_t expected) {
  std::size_t slots = kFewestSlots;
  while (slots < kMostPresizedSlots && slots / 2 < expected) slots *= 2;
  return slots;
}

}  // namespace

std::size_t most_fingerprints(std::uint64_t capture_bytes) {
  // A record's header (16 bytes in pcap, more in pcapng) and the IPv4 and
  // TCP headers without options (40).
  constexpr std::uint64_t kSmallestRecord = 16 + 40;
  return static_cast<std::size_t>(capture_bytes / kSmallestRecord);
}

SignatureCounter::SignatureCounter(std::size_t expected) : table_(std::make_unique<Table>(slots_for(expected))) {}
SignatureCounter::SignatureCounter(const Capture& capture) {
  std::optional<std::uint64_t> bytes = capture.file_size();
  table_ = std::make_unique<Table>(slots_for(bytes ? most_fingerprints(*bytes) : 0));
}
SignatureCounter::~SignatureCounter() = default;
SignatureCounter::SignatureCounter(SignatureCounter&&) noexcept = default;
SignatureCounter& SignatureCounter::operator=(SignatureCounter&&) noexcept = default;

void SignatureCounter::add(const PacketFacts& facts) { table_->add(signature_fields(facts), facts.window); }

std::size_t SignatureCounter::distinct() {
  table_->settle();
  return table_->size;
}

std::size_t SignatureCounter::count(std::uint32_t index) const { return table_->entry(index).count; }

void SignatureCounter::prefetch(std::uint32_t index) const {
  const auto* entry = reinterpret_cast<const char*>(&table_->entry(index));
  __builtin_prefetch(entry);
  __builtin_prefetch(entry + sizeof(Table::Entry) - 1);
}

const SignatureFields& SignatureCounter::fields(std::uint32_t index) const { return table_->entry(index).fields; }

std::uint16_t SignatureCounter::first_window(std::uint32_t index) const { return table_->entry(index).window; }

void SignatureCounter::append_signature(std::uint32_t index, std::string& out) const {
  p0fbpf::append_signature(table_->entry(index).fields, out);
}

void SignatureCounter::Table::add(const SignatureFields& fields, std::uint16_t window) {
  const std::uint64_t hash = std::uint64_t{hash_of(fields)} << 32;
  __builtin_prefetch(&slots[(hash >> 32) & (slot_count - 1)]);
  Waiting& place = waiting[added % kWaiting];
  if (added - counted == kWaiting) {
    insert(place.fields, place.window, place.hash);
    ++counted;
  }
  if (added - counted >= kWaiting / 2) prefetch_entry(waiting[(added - kWaiting / 2) % kWaiting].hash);
  place = {fields, window, hash};
  ++added;
}

void SignatureCounter::Table::settle() {
  for (; counted < added; ++counted) {
    const Waiting& w = waiting[counted % kWaiting];
    insert(w.fields, w.window, w.hash);
  }
}

// A hint only: insert() probes again, as the table may change before.
void SignatureCounter::Table::prefetch_entry(std::uint64_t hash) const {
  std::uint64_t slot = slots[(hash >> 32) & (slot_count - 1)];
  if (slot != 0 && (slot & 0xffffffff00000000u) == hash) __builtin_prefetch(&entry(static_cast<std::uint32_t>(slot) - 1));
}

void SignatureCounter::Table::insert(const SignatureFields& fields, std::uint16_t window, std::uint64_t hash) {
  const std::size_t mask = slot_count - 1;
  for (std::size_t i = (hash >> 32) & mask;; i = (i + 1) & mask) {
    std::uint64_t& slot = slots[i];
    if (slot == 0) {
      if (size % kBlockSize == 0) blocks.emplace_back(kBlockBytes);
      new (&entry(size)) Entry{fields, 1, window};
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

std::vector<std::uint32_t> SignatureCounter::most_frequent(std::size_t top) {
  table_->settle();
  const std::uint32_t size = table_->size;
  std::size_t keep = top && top < size ? top : size;
  std::uint32_t highest = 0;
  for (std::uint32_t index = 0; index < size; ++index) highest = std::max(highest, table_->entry(index).count);
  if (keep == size && highest <= std::size_t{4} * size) {
    // All of them, with counts no larger than a few times their number: a
    // counting sort by count, most first, which keeps the order first seen
    // within a count.
    std::vector<std::uint32_t> starts(std::size_t{highest} + 1, 0);
    for (std::uint32_t index = 0; index < size; ++index) ++starts[highest - table_->entry(index).count];
    std::uint32_t start = 0;
    for (std::uint32_t& at : starts) start += std::exchange(at, start);
    std::vector<std::uint32_t> order(size);
    for (std::uint32_t index = 0; index < size; ++index) order[starts[highest - table_->entry(index).count]++] = index;
    return order;
  }
  // Sorted as (count, index) pairs, read in one pass over the blocks: no
  // lookup per comparison.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ranked;
  ranked.reserve(size);
  for (std::uint32_t index = 0; index < size; ++index) ranked.emplace_back(table_->entry(index).count, index);
  auto first = [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  if (keep < ranked.size()) std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(), first);
  else std::sort(ranked.begin(), ranked.end(), first);
  std::vector<std::uint32_t> order(keep);
  for (std::size_t i = 0; i < keep; ++i) order[i] = ranked[i].second;
  return order;
}

}  // namespace p0fbpf
