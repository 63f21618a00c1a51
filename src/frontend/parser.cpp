#include "p0fbpf/parser.hpp"

#include "p0fbpf/convert.hpp"

#include <array>
#include <cctype>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace p0fbpf {
namespace {

constexpr const char* kShape = "ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass";


// A parse failure travels up as an exception inside this file only; the
// public entry point turns it back into a value.
struct ParseError {
  Diagnostic diagnostic;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Signature parse() {
    Signature sig;
    sig.text = std::string(text_);
    parse_version(sig);
    expect(':', "after the IP version");
    parse_ttl(sig);
    expect(':', "after the initial TTL");
    parse_olen(sig);
    expect(':', "after the IP option length");
    parse_mss(sig);
    expect(':', "after the MSS");
    parse_window(sig);
    expect(',', "after the window size (wsize,scale)");
    parse_scale(sig);
    expect(':', "after the window scale");
    parse_options(sig);
    expect(':', "after the TCP option layout");
    parse_quirks(sig);
    expect(':', "after the quirks");
    parse_payload(sig);
    if (!at_end()) {
      fail({pos_, text_.size()}, "unexpected text after the payload class",
           fmt::format("a signature has exactly nine fields: {}", kShape));
    }
    check_version_quirks(sig);
    return sig;
  }

 private:
  [[noreturn]] void fail(Span span, std::string message, std::string help = {}) {
    throw ParseError{Diagnostic{Severity::Error, span, std::move(message), std::move(help)}};
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  // The rest of the current field or list item, for error spans.
  Span token_span() const {
    std::size_t end = pos_;
    while (end < text_.size() && text_[end] != ':' && text_[end] != ',') ++end;
    return {pos_, std::max(end, pos_ + 1)};
  }

  std::string describe_here() const {
    if (at_end()) return "the end of the signature";
    char c = peek();
    if (is_printable(static_cast<unsigned char>(c))) return fmt::format("'{}'", c);
    return fmt::format("byte 0x{:02x}", static_cast<unsigned char>(c));
  }

  void expect(char separator, const char* where) {
    if (peek() == separator) {
      ++pos_;
      return;
    }
    std::string help = fmt::format("a signature has nine fields: {}", kShape);
    if (std::isspace(static_cast<unsigned char>(peek()))) help = "signatures contain no white space";
    fail({pos_, pos_ + 1}, fmt::format("expected '{}' {}, found {}", separator, where, describe_here()),
         help);
  }

  bool accept(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  // A decimal number within [min, max]; `what` names it in messages.
  // `shown_min` is the lower bound named in messages, when a smaller value
  // gets a message of its own.
  unsigned number(const char* what, unsigned min, unsigned max, const char* help,
                  std::optional<unsigned> shown_min = std::nullopt) {
    std::size_t start = pos_;
    while (!at_end() && std::isdigit(static_cast<unsigned char>(peek()))) ++pos_;
    if (start == pos_) {
      fail(token_span(), fmt::format("expected {}, found {}", what, describe_here()), help);
    }
    if (!at_end() && std::isalnum(static_cast<unsigned char>(peek()))) {
      // 0x40, 1e3, 64k: not a decimal number, whatever its first digits say.
      Span span{start, token_span().end};
      fail(span, fmt::format("expected {}, found {}", what, p0fbpf::quoted(text_.substr(span.begin, span.end - span.begin))),
           help);
    }
    Span span{start, pos_};
    if (pos_ - start > 9) fail(span, fmt::format("{} is out of range", what), help);
    unsigned value = std::stoul(std::string(text_.substr(start, pos_ - start)));
    if (value < min || value > max) {
      fail(span, fmt::format("{} {} is out of range {}..{}", what, value, shown_min.value_or(min), max), help);
    }
    return value;
  }

  void parse_version(Signature& sig) {
    std::size_t start = pos_;
    char c = peek();
    if (c == '4') sig.version = IpVersion::V4;
    else if (c == '6') sig.version = IpVersion::V6;
    else if (c == '*') sig.version = IpVersion::Any;
    else {
      fail(token_span(), fmt::format("expected an IP version, found {}", describe_here()),
           "the first field is 4, 6 or * (both)");
    }
    ++pos_;
    sig.version_span = {start, pos_};
  }

  void parse_ttl(Signature& sig) {
    std::size_t start = pos_;
    const char* help = "the TTL field is N (initial TTL, window N-35..N), N- (any TTL up to N) "
                       "or N+D (p0f's raw_sig: observed TTL plus distance)";
    unsigned n = number("an initial TTL", 0, 255, help, 1);
    sig.ttl.initial = n;
    if (n == 0 && peek() == '+') {
      // A raw_sig of a packet that arrived with TTL 0; p0f refuses it too.
      std::size_t end = pos_ + 1;
      while (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end]))) ++end;
      fail({start, end}, "observed TTL 0 in a raw_sig TTL: p0f does not accept it",
           "write the sender's initial TTL instead, usually 32, 64, 128 or 255");
    }
    if (n == 0) fail({start, pos_}, "an initial TTL 0 is out of range 1..255", help);
    if (accept("-")) {
      sig.ttl.kind = InitialTtl::Kind::Random;
    } else if (peek() == '+') {
      ++pos_;
      if (peek() == '?') {
        Span span{start, pos_ + 1};
        ++pos_;
        fail(span,
             fmt::format("TTL {}+? has an unknown distance: p0f could not guess the initial TTL",
                         n),
             fmt::format("replace it with the sender's initial TTL, usually 32, 64, 128 or 255: "
                         "N for TTLs N-35..N, or N- for any TTL up to N (here {}- or 255-)",
                         n <= 64 ? 64 : n <= 128 ? 128 : 255));
      }
      unsigned distance = number("a TTL distance", 0, 255, help);
      if (n + distance > 255) {
        fail({start, pos_}, fmt::format("initial TTL {}+{} = {} is over 255", n, distance, n + distance),
             help);
      }
      sig.ttl.initial = n + distance;
      sig.ttl.distance = distance;
    }
    sig.ttl.span = {start, pos_};
  }

  void parse_olen(Signature& sig) {
    std::size_t start = pos_;
    if (!accept("*")) {
      sig.olen.bytes = number("an IP option length", 0, 255,
                              "the third field is the IPv4 option length in bytes, 0..255, "
                              "or * for any (p0fbpf extension)");
    }
    sig.olen.span = {start, pos_};
  }

  void parse_mss(Signature& sig) {
    std::size_t start = pos_;
    if (!accept("*")) {
      sig.mss.value = number("an MSS", 0, 65535, "the fourth field is the MSS, 0..65535, or *");
    }
    sig.mss.span = {start, pos_};
  }

  void parse_window(Signature& sig) {
    std::size_t start = pos_;
    const char* help = "the window size is N (0..65535), *, mss*M or mtu*M (M 1..1000), or %K (K 2..65535)";
    WindowSize& w = sig.window;
    if (accept("*")) {
      w.kind = WindowSize::Kind::Any;
    } else if (accept("mss*")) {
      w.kind = WindowSize::Kind::MssMultiple;
      w.value = number("an MSS multiplier", 1, 1000, help);
    } else if (accept("mtu*")) {
      w.kind = WindowSize::Kind::MtuMultiple;
      w.value = number("an MTU multiplier", 1, 1000, help);
    } else if (accept("%")) {
      w.kind = WindowSize::Kind::Modulo;
      w.value = number("a window modulus", 2, 65535, help);
    } else {
      w.kind = WindowSize::Kind::Exact;
      w.value = number("a window size", 0, 65535, help);
    }
    w.span = {start, pos_};
  }

  void parse_scale(Signature& sig) {
    std::size_t start = pos_;
    if (!accept("*")) {
      sig.scale.value = number("a window scale", 0, 255, "the window scale is 0..255, or *");
    }
    sig.scale.span = {start, pos_};
  }

  void parse_options(Signature& sig) {
    std::size_t start = pos_;
    const char* help = "options are eol+N, nop, mss, ws, sok, sack, ts or ?N, separated by ','";
    if (peek() != ':') {
      while (true) {
        std::size_t item = pos_;
        TcpOption opt;
        if (accept("eol")) {
          opt.kind = tcp_option::kEol;
          if (accept("+")) opt.eol_padding = number("an EOL padding length", 0, 255, help);
        } else if (accept("?")) {
          opt.kind = static_cast<std::uint8_t>(number("an option kind", 0, 255, help));
        } else {
          bool found = false;
          // eol was taken above: it carries its padding.
          for (std::uint8_t kind : tcp_option::kNamed) {
            Span span = token_span();
            if (kind != tcp_option::kEol && text_.substr(span.begin, span.end - span.begin) == tcp_option::name(kind)) {
              pos_ = span.end;
              opt.kind = kind;
              found = true;
              break;
            }
          }
          if (!found) {
            fail(token_span(), fmt::format("unknown TCP option {}", quoted_token()), help);
          }
        }
        opt.span = {item, pos_};
        if (sig.options.size() == kMaxTcpOptions) {
          fail(opt.span, fmt::format("more than {} TCP options", kMaxTcpOptions),
               fmt::format("p0f records at most {} options", kMaxTcpOptions));
        }
        sig.options.push_back(opt);
        if (opt.kind == tcp_option::kEol && text_.substr(item, 3) == "eol" && peek() == ',') {
          fail(opt.span, "eol must be the last TCP option",
               "p0f stops reading options at EOL; write the bytes after it as eol+N");
        }
        if (peek() != ',') break;
        ++pos_;
      }
      if (peek() != ':' && !at_end()) {
        fail(token_span(), fmt::format("unexpected {} in the TCP option layout", describe_here()), help);
      }
    }
    sig.options_span = {start, pos_};
  }

  std::string quoted_token() const {
    Span span = token_span();
    std::string_view token = text_.substr(span.begin, span.end - span.begin);
    if (token.empty() || at_end()) return describe_here();
    return p0fbpf::quoted(token);
  }

  void parse_quirks(Signature& sig) {
    std::size_t start = pos_;
    if (peek() != ':') {
      while (true) {
        Span span = token_span();
        std::string_view token = text_.substr(span.begin, span.end - span.begin);
        bool found = false;
        for (const auto& named : kQuirks) {
          if (token == named.name) {
            sig.quirks.push_back({named.quirk, span});
            pos_ = span.end;
            found = true;
            break;
          }
        }
        if (!found) {
          fail(span, fmt::format("unknown quirk {}", quoted_token()),
               fmt::format("quirks are {}", quirk_names()));
        }
        if (peek() != ',') break;
        ++pos_;
      }
    }
    sig.quirks_span = {start, pos_};
  }

  void parse_payload(Signature& sig) {
    std::size_t start = pos_;
    char c = peek();
    if (c == '0') sig.payload = PayloadClass::Zero;
    else if (c == '+') sig.payload = PayloadClass::NonZero;
    else if (c == '*') sig.payload = PayloadClass::Any;
    else {
      fail(token_span(), fmt::format("expected a payload class, found {}", describe_here()),
           "the last field is 0 (no payload), + (payload) or * (either)");
    }
    ++pos_;
    sig.payload_span = {start, pos_};
  }

  // p0f refuses IPv4-only quirks in IPv6 signatures and vice versa.
  void check_version_quirks(const Signature& sig) {
    if (sig.version == IpVersion::Any) return;
    for (const QuirkItem& item : sig.quirks) {
      if (quirk_exists_in(item.quirk, sig.version == IpVersion::V6)) continue;
      if (sig.version == IpVersion::V6) {
        fail(item.span, fmt::format("quirk '{}' is not valid in an IPv6 signature", quirk_name(item.quirk)),
             "IPv6 has no DF flag, IP ID or reserved fragment bit");
      }
      fail(item.span, fmt::format("quirk '{}' is not valid in an IPv4 signature", quirk_name(item.quirk)),
           "only IPv6 has a flow label");
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

bool Signature::has(Quirk quirk) const { return find(quirk) != nullptr; }

const QuirkItem* Signature::find(Quirk quirk) const {
  for (const QuirkItem& item : quirks) {
    if (item.quirk == quirk) return &item;
  }
  return nullptr;
}

Result<Signature> parse_signature(std::string_view text) {
  if (text.empty()) {
    return Diagnostic{Severity::Error, {0, 0}, "empty signature",
                      fmt::format("a signature has nine fields: {}", kShape)};
  }
  try {
    return Parser(text).parse();
  } catch (const ParseError& error) {
    // Not a p0f signature: if it is a string of another format, say which.
    if (auto format = foreign_shape(text)) {
      return Diagnostic{Severity::Error, {0, text.size()},
                        fmt::format("this looks like a {} string ({}), not a p0f signature",
                                    format == ForeignFormat::MuonFp ? "MuonFP" : "Satori tcpsig",
                                    format_shape(*format)),
                        fmt::format("turn it into one with: p0fbpf convert --from {} STRING", format_name(*format))};
    }
    return error.diagnostic;
  }
}

}  // namespace p0fbpf
