#include "p0fbpf/fingerprint.hpp"

#include <algorithm>

#include "p0fbpf/capture.hpp"
#include "p0fbpf/packet.hpp"

namespace p0fbpf {

std::optional<std::string> fingerprint_frame(LinkType link, const std::uint8_t* frame, std::size_t length,
                                             Direction direction) {
  std::optional<std::size_t> offset = ip_offset(link, frame, length);
  if (!offset) return std::nullopt;
  std::optional<PacketFacts> facts = analyze_packet(frame + *offset, length - *offset);
  if (!facts) return std::nullopt;
  bool wanted = direction == Direction::Request ? facts->is_syn() : facts->is_syn_ack();
  if (!wanted) return std::nullopt;
  return raw_signature(*facts);
}

std::vector<SignatureCount> SignatureCounter::most_frequent(std::size_t top) const {
  std::vector<SignatureCount> out;
  out.reserve(counts_.size());
  for (const auto& [signature, count] : counts_) out.push_back({signature, count});
  std::stable_sort(out.begin(), out.end(),
                   [](const SignatureCount& a, const SignatureCount& b) { return a.count > b.count; });
  if (top && out.size() > top) out.resize(top);
  return out;
}

}  // namespace p0fbpf
