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

}  // namespace p0fbpf::testing
