// Fingerprints in other public formats, as p0f signatures:
//   MuonFP  WINDOW:OPTIONKINDS:MSS:WSCALE    e.g. 64240:2-1-3-1-1-4:1460:8
//   Satori  WINDOW:TTL:DF:HDRLEN:OPTIONS:QUIRKS  e.g. 64240:64:1:60:M1460,S,T,N,W7:.
// What a format does not say becomes the loosest value p0f's grammar has
// for it (docs/semantics.md §1); see convert_signature.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "p0fbpf/diagnostic.hpp"

namespace p0fbpf {

enum class ForeignFormat { MuonFp, Satori };

// "muonfp" or "satori".
const char* format_name(ForeignFormat format);
// The format's fields, for messages: "WINDOW:OPTIONKINDS:MSS:WSCALE", ...
const char* format_shape(ForeignFormat format);

// One p0f signature (p0fbpf's grammar) that fits the packets the string
// describes. MuonFP: any IP version, TTL 255- (any), IP options * (a p0fbpf
// extension), no quirks, payload *; an empty MSS or scale is *; the option
// list stops at EOL (0), whose padding fills the options to whole words.
// Satori: TTL N (N-35..N), DF 1 with quirk df (and id+ unless the quirk Z,
// zero ID, is listed), DF 0 with id- when Z is; the IP version and option
// length from HDRLEN (IP and TCP headers); quirks P U A T ! 0 as opt+ uptr+
// ack+ ts2+ bad seq-, D as payload +. A malformed string's diagnostic points
// into it.
Result<std::string> convert_signature(std::string_view text, ForeignFormat format);

// Whether the text has the shape of a string of one of the formats (its
// separators and kinds of fields): for the error of a p0f signature that
// does not parse.
std::optional<ForeignFormat> foreign_shape(std::string_view text);

}  // namespace p0fbpf
