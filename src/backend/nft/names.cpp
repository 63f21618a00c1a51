#include "backend/nft/names.hpp"

#include <string>

#include "p0fbpf/nft.hpp"

namespace p0fbpf {
namespace nft {

bool is_identifier(std::string_view name) {
  if (name.empty() || name.size() > 31) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!letter(name[0])) return false;
  for (char c : name) {
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

bool is_device_name(std::string_view name) {
  if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace nft

std::string nft_comment(std::string_view text, bool* changed) {
  constexpr std::size_t kMax = 128;
  std::string out;
  bool replaced = false;
  for (char c : text.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    bool safe = u >= 0x20 && u < 0x7f && c != '"' && c != '\\';
    out += safe ? c : '_';
    replaced = replaced || !safe;
  }
  if (text.size() > kMax) replaced = true;
  if (changed) *changed = replaced;
  return out;
}

}  // namespace p0fbpf
