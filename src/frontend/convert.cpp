#include "p0fbpf/convert.hpp"

#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "p0fbpf/parser.hpp"
#include "p0fbpf/quirks.hpp"
#include "p0fbpf/tcp.hpp"

namespace p0fbpf {
namespace {

struct Field {
  std::string_view text;
  std::size_t begin = 0;  // where it starts in the whole string
  Span span() const { return {begin, begin + text.size()}; }
};

std::vector<Field> split(std::string_view text, char separator, std::size_t offset = 0) {
  std::vector<Field> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t at = text.find(separator, start);
    std::size_t stop = at == std::string_view::npos ? text.size() : at;
    out.push_back({text.substr(start, stop - start), offset + start});
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool all_digits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Diagnostic error(Span span, std::string message, std::string help) {
  return Diagnostic{Severity::Error, span, std::move(message), std::move(help)};
}

// A decimal number within [low, high], or the diagnostic naming `what`.
Result<unsigned> number(const Field& field, unsigned low, unsigned high, const char* what) {
  unsigned value = 0;
  if (!all_digits(field.text)) {
    return error(field.span(), fmt::format("expected {}, a decimal number", what),
                 fmt::format("from {} to {}", low, high));
  }
  auto [end, ec] = std::from_chars(field.text.data(), field.text.data() + field.text.size(), value);
  if (ec != std::errc() || value < low || value > high) {
    return error(field.span(), fmt::format("{} out of range", what), fmt::format("from {} to {}", low, high));
  }
  return value;
}

std::string option_name(unsigned kind) {
  std::string_view name = tcp_option::name(static_cast<std::uint8_t>(kind));
  return name.empty() ? fmt::format("?{}", kind) : std::string(name);
}

std::string quirk_list(std::uint32_t quirks) {
  std::string out;
  for (const QuirkFacts& q : kQuirks) {
    if (quirks & (1u << static_cast<int>(q.quirk))) out += (out.empty() ? "" : ",") + std::string(q.name);
  }
  return out;
}

constexpr std::uint32_t bit(Quirk q) { return 1u << static_cast<int>(q); }

Result<std::string> checked(std::string signature, std::string_view text) {
  // What this file writes must be a signature; say so rather than print one
  // that is not.
  if (!parse_signature(signature)) {
    return error({0, text.size()}, "cannot express this string as a p0f signature: " + signature, "");
  }
  return signature;
}

Result<std::string> from_muonfp(std::string_view text) {
  std::vector<Field> fields = split(text, ':');
  if (fields.size() != 4) {
    std::size_t at = fields.size() > 4 ? fields[4].begin - 1 : text.size();
    return error({at, fields.size() > 4 ? at + 1 : at},
                 fmt::format("a MuonFP string has 4 fields, this one {}", fields.size()),
                 "WINDOW:OPTIONKINDS:MSS:WSCALE, e.g. 64240:2-1-3-1-1-4:1460:8");
  }
  auto window = number(fields[0], 0, 65535, "the window");
  if (!window) return window.error();
  std::vector<unsigned> kinds;
  unsigned padding = 0;
  if (!fields[1].text.empty()) {
    std::vector<Field> items = split(fields[1].text, '-', fields[1].begin);
    unsigned bytes = 0;
    bool known = true;
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto kind = number(items[i], 0, 255, "an option kind");
      if (!kind) return kind.error();
      if (kinds.size() == kMaxTcpOptions) {
        return error(items[i].span(), fmt::format("more than {} options", kMaxTcpOptions), "p0f records 24");
      }
      kinds.push_back(*kind);
      if (*kind == tcp_option::kEol) {
        // The walk stops at EOL; the rest pads the options to whole words.
        padding = known ? (4 - (bytes + 1) % 4) % 4 : static_cast<unsigned>(items.size() - i - 1);
        break;
      }
      unsigned size = tcp_option::fixed_size(static_cast<std::uint8_t>(*kind));
      known = known && size != 0;
      bytes += size;
    }
  }
  std::string mss = "*", scale = "*";
  if (!fields[2].text.empty()) {
    auto value = number(fields[2], 0, 65535, "the MSS");
    if (!value) return value.error();
    mss = std::to_string(*value);
  }
  if (!fields[3].text.empty()) {
    auto value = number(fields[3], 0, 255, "the window scale");
    if (!value) return value.error();
    scale = std::to_string(*value);
  }
  std::string layout;
  for (unsigned kind : kinds) {
    if (!layout.empty()) layout += ',';
    layout += kind == tcp_option::kEol ? fmt::format("eol+{}", padding) : option_name(kind);
  }
  return checked(fmt::format("*:255-:*:{}:{},{}:{}::*", mss, *window, scale, layout), text);
}

Result<std::string> from_satori(std::string_view text) {
  std::vector<Field> fields = split(text, ':');
  if (fields.size() != 6) {
    std::size_t at = fields.size() > 6 ? fields[6].begin - 1 : text.size();
    return error({at, fields.size() > 6 ? at + 1 : at},
                 fmt::format("a Satori tcpsig has 6 fields, this one {}", fields.size()),
                 "WINDOW:TTL:DF:HDRLEN:OPTIONS:QUIRKS, e.g. 64240:64:1:60:M1460,S,T,N,W7:.");
  }
  std::string window = "*";
  if (fields[0].text != "*") {
    auto value = number(fields[0], 0, 65535, "the window");
    if (!value) return value.error();
    window = std::to_string(*value);
  }
  auto ttl = number(fields[1], 1, 255, "the TTL");
  if (!ttl) return ttl.error();
  if (fields[2].text != "0" && fields[2].text != "1") {
    return error(fields[2].span(), "expected DF, 0 or 1", "1: the don't-fragment flag is set");
  }
  const bool df = fields[2].text == "1";
  auto header_length = number(fields[3], 40, 255, "the header length (IP and TCP)");
  if (!header_length) return header_length.error();

  std::string layout, mss = "*", scale = "*";
  unsigned bytes = 0;
  bool eol = false;
  if (!fields[4].text.empty() && fields[4].text != ".") {
    for (const Field& item : split(fields[4].text, ',', fields[4].begin)) {
      if (eol) return error(item.span(), "an option after E (EOL)", "EOL ends the options");
      if (item.text.empty()) return error(item.span(), "an empty option", "options are M S T N W E, comma-separated");
      Field value{item.text.substr(1), item.begin + 1};
      std::uint8_t kind = 0;
      switch (item.text[0]) {
        case 'M':
          if (value.text != "*") {
            auto v = number(value, 0, 65535, "the MSS");
            if (!v) return v.error();
            mss = std::to_string(*v);
          }
          kind = tcp_option::kMss;
          break;
        case 'W':
          if (value.text != "*") {
            auto v = number(value, 0, 255, "the window scale");
            if (!v) return v.error();
            scale = std::to_string(*v);
          }
          kind = tcp_option::kWindowScale;
          break;
        case 'S': kind = tcp_option::kSackPermitted; break;
        case 'T': kind = tcp_option::kTimestamp; break;
        case 'N': kind = tcp_option::kNop; break;
        case 'E': kind = tcp_option::kEol; eol = true; break;
        default:
          return error({item.begin, item.begin + 1}, fmt::format("unknown option {}", quoted(item.text.substr(0, 1))),
                       "M (MSS), S (SACK permitted), T (timestamp), N (NOP), W (window scale), E (EOL)");
      }
      bytes += tcp_option::fixed_size(kind);
      if (item.text[0] != 'M' && item.text[0] != 'W' && !value.text.empty()) {
        return error(item.span(), fmt::format("malformed option {}", quoted(item.text)),
                     "M and W take a value (M1460, W7); S, T, N and E none");
      }
      if (!layout.empty()) layout += ',';
      layout += eol ? "" : std::string(tcp_option::name(kind));
    }
  }
  const unsigned padded = (bytes + 3) / 4 * 4;
  if (eol) layout += fmt::format("eol+{}", padded - bytes);
  if (bytes > 40) return error(fields[4].span(), fmt::format("{} bytes of options, more than TCP's 40", bytes), "");

  // HDRLEN is the IP and TCP headers: 20 + IP options + 20 + TCP options
  // for IPv4, 40 + 20 + TCP options for IPv6.
  const unsigned least = 40 + padded;
  if (*header_length < least || (*header_length - least) % 4 != 0 || *header_length - least > 40) {
    return error(fields[3].span(),
                 fmt::format("header length {} does not fit {} bytes of TCP options", *header_length, padded),
                 fmt::format("IPv4 without IP options: {}; IPv6: {}", least, least + 20));
  }
  const unsigned extra = *header_length - least;
  const bool ipv6 = extra == 20 && !df;

  std::uint32_t quirks = 0;
  bool zero_id = false, payload = false;
  if (fields[5].text != "." && !fields[5].text.empty()) {
    for (std::size_t i = 0; i < fields[5].text.size(); ++i) {
      char c = fields[5].text[i];
      Span at{fields[5].begin + i, fields[5].begin + i + 1};
      switch (c) {
        case ',': break;
        case 'Z': zero_id = true; break;
        case 'P': quirks |= bit(Quirk::OptionDataAfterEol); break;
        case 'U': quirks |= bit(Quirk::NonZeroUrgentPtr); break;
        case 'A': quirks |= bit(Quirk::NonZeroAck); break;
        case 'T': quirks |= bit(Quirk::NonZeroTs2); break;
        case '!': quirks |= bit(Quirk::BadOptions); break;
        case '0': quirks |= bit(Quirk::ZeroSeq); break;
        case 'D': payload = true; break;
        case 'I': break;  // IP options: HDRLEN says how many
        default:
          return error(at, fmt::format("quirk {} has no p0f equivalent", quoted(std::string_view(&c, 1))),
                       "known: Z P U A T ! 0 D I, or . for none");
      }
    }
  }
  if (!ipv6) {
    if (df) quirks |= bit(Quirk::DontFragment) | (zero_id ? 0 : bit(Quirk::NonZeroId));
    else if (zero_id) quirks |= bit(Quirk::ZeroId);
  }
  return checked(fmt::format("{}:{}:{}:{}:{},{}:{}:{}:{}", ipv6 ? 6 : 4, *ttl, ipv6 ? 0 : extra, mss, window, scale,
                             layout, quirk_list(quirks), payload ? "+" : "0"),
                 text);
}

bool digits_or_empty(std::string_view text) { return text.empty() || all_digits(text); }

}  // namespace

const char* format_name(ForeignFormat format) { return format == ForeignFormat::MuonFp ? "muonfp" : "satori"; }

const char* format_shape(ForeignFormat format) {
  return format == ForeignFormat::MuonFp ? "WINDOW:OPTIONKINDS:MSS:WSCALE" : "WINDOW:TTL:DF:HDRLEN:OPTIONS:QUIRKS";
}

Result<std::string> convert_signature(std::string_view text, ForeignFormat format) {
  return format == ForeignFormat::MuonFp ? from_muonfp(text) : from_satori(text);
}

std::optional<ForeignFormat> foreign_shape(std::string_view text) {
  std::vector<Field> fields = split(text, ':');
  if (fields.size() == 4 && all_digits(fields[0].text) && digits_or_empty(fields[2].text) &&
      digits_or_empty(fields[3].text)) {
    bool kinds = true;
    if (!fields[1].text.empty()) {
      for (const Field& kind : split(fields[1].text, '-')) kinds &= all_digits(kind.text);
    }
    if (kinds) return ForeignFormat::MuonFp;
  }
  if (fields.size() == 6 && (all_digits(fields[0].text) || fields[0].text == "*") && all_digits(fields[1].text) &&
      (fields[2].text == "0" || fields[2].text == "1") && all_digits(fields[3].text)) {
    return ForeignFormat::Satori;
  }
  return std::nullopt;
}

}  // namespace p0fbpf
