// The abstract syntax of one p0f TCP signature:
//   ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass
// Every field keeps the span of the text it was parsed from, so later passes
// can point at it in diagnostics and listings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/quirks.hpp"
#include "p0fbpf/tcp.hpp"
#include "p0fbpf/types.hpp"

namespace p0fbpf {

struct InitialTtl {
  enum class Kind {
    Window,  // N or N+D: the packet's TTL lies in [N-35, N]
    Random,  // N-: only an upper bound
  };
  Kind kind = Kind::Window;
  unsigned initial = 0;                // N, or N+D for the raw_sig form
  std::optional<unsigned> distance;    // D of the raw_sig form N+D
  Span span;
};

struct IpOptionLength {
  std::optional<unsigned> bytes;  // nullopt: '*' (p0fbpf extension)
  Span span;
};

struct MaximumSegmentSize {
  std::optional<unsigned> value;  // nullopt: '*'
  Span span;
};

struct WindowSize {
  enum class Kind { Any, Exact, MssMultiple, MtuMultiple, Modulo };
  Kind kind = Kind::Any;
  unsigned value = 0;  // the size, the multiplier M, or the modulus K
  Span span;
};

struct WindowScale {
  std::optional<unsigned> value;  // nullopt: '*'
  Span span;
};

struct TcpOption {
  std::uint8_t kind = 0;
  unsigned eol_padding = 0;  // only for kind 0 (eol+N)
  Span span;
};

struct QuirkItem {
  Quirk quirk;
  Span span;
};

enum class PayloadClass { Zero, NonZero, Any };

struct Signature {
  std::string text;  // the source, as given
  IpVersion version = IpVersion::Any;
  Span version_span;
  InitialTtl ttl;
  IpOptionLength olen;
  MaximumSegmentSize mss;
  WindowSize window;
  WindowScale scale;
  std::vector<TcpOption> options;
  Span options_span;
  std::vector<QuirkItem> quirks;
  Span quirks_span;
  PayloadClass payload = PayloadClass::Zero;
  Span payload_span;

  bool has(Quirk quirk) const;
  const QuirkItem* find(Quirk quirk) const;
};

}  // namespace p0fbpf
