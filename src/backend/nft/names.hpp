// What nft accepts as the names p0fbpf writes into a file: tables, chains
// and comments.
#pragma once

#include <string_view>

namespace p0fbpf::nft {

// An nft identifier that needs no quotes: a letter, then letters, digits
// and '_', at most 31 characters (NFT_NAME_MAXLEN - 1 for chains and
// tables is 255; 31 keeps names readable in listings and the same as
// ipset's).
bool is_identifier(std::string_view name);

// A word nft's scanner reads as a keyword wherever it stands, so that it
// cannot name a table or chain: `table inet inet` or `jump drop` does not
// parse. The words of nft 1.0.6 (Debian 12's) and those later releases
// added, up to 1.1.6; words that are keywords only inside one expression
// (`tcp option`'s, `limit`'s) name tables and chains in nft 1.0.6.
bool is_reserved_word(std::string_view name);

// A network device name nft can take in quotes and a reader can trust:
// 1 to 15 (IFNAMSIZ - 1) letters, digits, '-', '_' and '.', not "." or "..".
bool is_device_name(std::string_view name);

}  // namespace p0fbpf::nft
