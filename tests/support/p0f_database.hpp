// The TCP signatures of a database in p0f.fp format, read plainly (without
// p0fbpf's own reader, which has tests of its own).
#pragma once

#include <fstream>
#include <string>
#include <vector>

namespace p0fbpf::testing {

struct TcpSignature {
  std::string text;
  bool response = false;
  int line = 0;
};

inline std::vector<TcpSignature> tcp_signatures(const std::string& path) {
  std::vector<TcpSignature> out;
  std::ifstream in(path);
  std::string line, section;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line[0] == '[') section = line.substr(0, line.find(']') + 1);
    bool tcp = section == "[tcp:request]" || section == "[tcp:response]";
    if (tcp && line.rfind("sig", 0) == 0 && line.find('=') != std::string::npos) {
      std::string sig = line.substr(line.find('=') + 1);
      sig.erase(0, sig.find_first_not_of(" \t"));
      sig.erase(sig.find_last_not_of(" \t\r") + 1);
      out.push_back({sig, section == "[tcp:response]", number});
    }
  }
  return out;
}

// A `*` signature for one IP version, as p0f reads it for that version's
// packets: without df, id+ and id- for IPv6, without flow for IPv4.
inline std::string signature_for_version(const std::string& sig, bool ipv6) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  for (std::size_t colon; (colon = sig.find(':', start)) != std::string::npos; start = colon + 1) {
    fields.push_back(sig.substr(start, colon - start));
  }
  fields.push_back(sig.substr(start));
  fields.resize(8);
  std::string kept;
  std::size_t at = 0;
  const std::string& quirks = fields[6];
  while (at <= quirks.size() && !quirks.empty()) {
    std::size_t comma = quirks.find(',', at);
    std::string q = quirks.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    bool drop = ipv6 ? (q == "df" || q == "id+" || q == "id-") : q == "flow";
    if (!drop && !q.empty()) kept += (kept.empty() ? "" : ",") + q;
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  fields[0] = ipv6 ? "6" : "4";
  fields[6] = kept;
  std::string out;
  for (std::size_t i = 0; i < fields.size(); ++i) out += (i ? ":" : "") + fields[i];
  return out;
}

}  // namespace p0fbpf::testing
