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
    std::size_t count = 0;
  };
  static constexpr std::uint32_t kEmpty = 0xffffffff;
  std::vector<std::uint32_t> slots = std::vector<std::uint32_t>(1024, kEmpty);  // index into entries
  std::vector<Entry> entries;

  void add(const SignatureFields& fields);
  void grow();
};

SignatureCounter::SignatureCounter() : table_(std::make_unique<Table>()) {}
SignatureCounter::~SignatureCounter() = default;
SignatureCounter::SignatureCounter(SignatureCounter&&) noexcept = default;
SignatureCounter& SignatureCounter::operator=(SignatureCounter&&) noexcept = default;

void SignatureCounter::add(const PacketFacts& facts) { table_->add(signature_fields(facts)); }

std::size_t SignatureCounter::distinct() const { return table_->entries.size(); }

void SignatureCounter::Table::add(const SignatureFields& fields) {
  std::size_t mask = slots.size() - 1;
  for (std::size_t i = hash_of(fields) & mask;; i = (i + 1) & mask) {
    std::uint32_t& slot = slots[i];
    if (slot == kEmpty) {
      slot = static_cast<std::uint32_t>(entries.size());
      entries.push_back({fields, 1});
      if (entries.size() * 2 > slots.size()) grow();
      return;
    }
    if (same(entries[slot].fields, fields)) {
      ++entries[slot].count;
      return;
    }
  }
}

void SignatureCounter::Table::grow() {
  slots.assign(slots.size() * 2, kEmpty);
  std::size_t mask = slots.size() - 1;
  for (std::uint32_t e = 0; e < entries.size(); ++e) {
    std::size_t i = hash_of(entries[e].fields) & mask;
    while (slots[i] != kEmpty) i = (i + 1) & mask;
    slots[i] = e;
  }
}

SignatureCounts SignatureCounter::most_frequent(std::size_t top) const {
  const auto& entries = table_->entries;
  std::vector<std::uint32_t> order(entries.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return entries[a].count > entries[b].count; });
  if (top && order.size() > top) order.resize(top);
  SignatureCounts out;
  out.text.reserve(order.size() * 64);
  out.entries.reserve(order.size());
  for (std::uint32_t index : order) {
    std::size_t begin = out.text.size();
    append_signature(entries[index].fields, out.text);
    out.entries.push_back({entries[index].count, begin, out.text.size() - begin});
  }
  return out;
}

}  // namespace p0fbpf
