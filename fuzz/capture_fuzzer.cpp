// Any bytes as a capture file: opened, read record by record, every frame
// fingerprinted in both directions and counted, without reading outside it.
#include <cstdint>
#include <cstdio>
#include <vector>

#include "p0fbpf/capture.hpp"
#include "p0fbpf/fingerprint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::uint8_t> bytes(data, data + size);
  FILE* file = fmemopen(bytes.data(), bytes.size(), "rb");
  if (!file) return 0;
  auto capture = p0fbpf::Capture::open(file, "fuzz");
  if (!capture) return 0;
  auto link = p0fbpf::link_for_capture((*capture)->datalink());
  p0fbpf::LinkType type = link ? link->type : p0fbpf::LinkType::Raw;
  p0fbpf::SignatureCounter counter;
  std::string problem;
  (*capture)->for_each(
      [&](const p0fbpf::CaptureRecord& record) {
        std::vector<std::uint8_t> frame(record.data, record.data + record.length());
        for (auto d : {p0fbpf::Direction::Request, p0fbpf::Direction::Response}) {
          if (auto facts = p0fbpf::fingerprint_facts(type, frame.data(), frame.size(), d)) counter.add(*facts);
        }
      },
      problem);
  std::string text;
  for (std::uint32_t index : counter.most_frequent(3)) counter.append_signature(index, text);
  return 0;
}
