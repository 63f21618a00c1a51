// Native nftables rules for a selection of signatures (p0fbpf -f nft): a
// file for `nft -f` that replaces one table in one transaction, with a rule
// per way a signature matches (per IP version), a named counter per
// signature and its label in the comments. Built from each signature's IR
// by the nft backend (src/backend/nft/), exactly as the classic program
// matches, or refused. The entry that compiles signatures into one is
// compile_nft (compiler.hpp).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "p0fbpf/diagnostic.hpp"

namespace p0fbpf {

enum class NftHook {
  Input,       // inet family, hook input, priority filter
  Prerouting,  // inet family, hook prerouting, priority raw: before conntrack
  Ingress,     // netdev family, hook ingress on one device: before the IP stack
};

struct NftOptions {
  std::string table = "p0fbpf";  // inet TABLE
  NftHook hook = NftHook::Input;
  std::string device;            // Ingress: the device (then the table is netdev TABLE)
  std::string chain;             // the base chain's name; empty: the hook's
  // drop, accept, reject (with tcp reset), "jump CHAIN" or "goto CHAIN" (a
  // chain the file declares, empty, in the table)
  std::string target = "drop";
  bool count_only = false;       // counters and no verdict
  std::optional<unsigned> rate;  // the verdict only beyond N matches a second, all rules together
  std::vector<std::string> destinations;  // -d ADDR[/LEN], as sets per family
  std::string generator;         // "p0fbpf VERSION", for the header comment
};

// An error message when a name, the target, an address or the rate cannot go
// into the file; nullopt when they can.
std::optional<std::string> check_nft_options(const NftOptions& options);

struct NftRuleset {
  std::string text;  // the file, when ok
  std::vector<SourcedDiagnostic> diagnostics;
  std::size_t rules = 0;  // rules that match signatures
  bool ok = false;
};

// A comment for nft: printable ASCII without '"' and '\\' (nft's parser has
// no escapes in strings), other bytes as '_', at most 128 bytes.
std::string nft_comment(std::string_view text, bool* changed = nullptr);

}  // namespace p0fbpf
