#include "prometheus.hpp"

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace p0fbpf::cli {
namespace {

constexpr const char* kReplacement = "\xef\xbf\xbd";  // U+FFFD

// The length of the valid UTF-8 sequence at `at` (1 to 4), or 0.
std::size_t utf8_length(std::string_view text, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char first = byte(at);
  std::size_t length;
  std::uint32_t code;
  if (first < 0x80) return 1;
  if (first >= 0xc2 && first <= 0xdf) {
    length = 2;
    code = first & 0x1f;
  } else if (first >= 0xe0 && first <= 0xef) {
    length = 3;
    code = first & 0x0f;
  } else if (first >= 0xf0 && first <= 0xf4) {
    length = 4;
    code = first & 0x07;
  } else {
    return 0;
  }
  if (at + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(at + i) & 0xc0) != 0x80) return 0;
    code = code << 6 | (byte(at + i) & 0x3f);
  }
  // Overlong forms, surrogates, beyond U+10FFFF.
  if ((length == 3 && code < 0x800) || (length == 4 && code < 0x10000) || code > 0x10ffff ||
      (code >= 0xd800 && code <= 0xdfff)) {
    return 0;
  }
  // C1 control characters, which terminals may act on.
  if (code >= 0x80 && code <= 0x9f) return 0;
  return length;
}

// A counter or gauge: its HELP and TYPE lines, then its samples.
void family(std::string& out, const char* name, const char* type, const char* help,
            const std::vector<std::pair<std::string, std::uint64_t>>& samples) {
  if (samples.empty()) return;
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  for (const auto& [labels, value] : samples) {
    fmt::format_to(std::back_inserter(out), "{}{{{}}} {}\n", name, labels, value);
  }
}

}  // namespace

std::string prometheus_label_value(std::string_view text) {
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    char c = text[at];
    std::size_t length = utf8_length(text, at);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else if (length == 0 || (length == 1 && (static_cast<unsigned char>(c) < 0x20 || c == 0x7f))) {
      out += kReplacement;
      at += 1;
      continue;
    } else {
      out.append(text, at, length);
    }
    at += length;
  }
  return out;
}

std::string prometheus_text(const std::string& device, const xdp::Stats& stats) {
  const std::string on = "device=\"" + prometheus_label_value(device) + "\"";
  std::string out;
  family(out, "p0fbpf_xdp_packets_total", "counter", "Frames p0fbpf's XDP program saw on the device.",
         {{on, stats.seen}});
  if (stats.syns) {
    family(out, "p0fbpf_xdp_syns_total", "counter",
           "TCP SYNs (SYN+ACKs for --response signatures) the program saw on the device.", {{on, *stats.syns}});
  }
  // A slot is named "LABEL: SIGNATURE" (a signature has no ": "), the
  // signature alone, or what a negated program matches.
  std::vector<std::pair<std::string, std::uint64_t>> matches;
  std::map<std::string, std::size_t> index;
  for (const xdp::SlotCount& slot : stats.matches) {
    std::string_view name = slot.name;
    std::string_view label, signature = name;
    if (auto colon = name.rfind(": "); colon != std::string_view::npos) {
      label = name.substr(0, colon);
      signature = name.substr(colon + 2);
    }
    std::string labels = fmt::format("{},label=\"{}\",signature=\"{}\"", on, prometheus_label_value(label),
                                     prometheus_label_value(signature));
    auto [at, added] = index.emplace(labels, matches.size());
    if (added) matches.emplace_back(labels, 0);
    matches[at->second].second += slot.packets;
  }
  family(out, "p0fbpf_xdp_matches_total", "counter",
         "Packets a signature matched on the device (dropped, unless the program only counts).", matches);
  if (stats.attached_unix) {
    family(out, "p0fbpf_xdp_attached_timestamp_seconds", "gauge",
           "When p0fbpf first attached its program to the device, in seconds since the epoch: the counters "
           "count since.",
           {{on, stats.attached_unix}});
  }
  family(out, "p0fbpf_xdp_info", "gauge", "p0fbpf's XDP program on the device: its id, mode and action.",
         {{fmt::format("{},program_id=\"{}\",mode=\"{}\",action=\"{}\"", on, stats.program_id,
                       xdp::mode_name(stats.mode), stats.count_only ? "count-only" : "drop"),
           1}});
  return out;
}

}  // namespace p0fbpf::cli
