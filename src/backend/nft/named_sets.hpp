// The sets of a ruleset's rules, each defined once in the table and named
// where rules use it. Signatures share window rules (`mss*10`, `%8192`, …),
// so a whole database's rules hold the same sets of MSS . window pairs and
// of values again and again: named once, p0f.fp's request section is a
// quarter of the text, and nft 1.0.6 loads it in a quarter of the time and
// memory.
#pragma once

#include <map>
#include <string>

namespace p0fbpf::nft {

class NamedSets {
 public:
  // `match` as the rule writes it: a set (`FIELDS { ELEMENTS }`, `FIELD !=
  // { ELEMENTS }`) becomes a reference to its named set, `FIELDS @setN`;
  // any other match is returned as it is. The same fields and elements get
  // the same set.
  std::string use(const std::string& match);

  // The sets used so far, in the order of first use, as `set` blocks of a
  // table: `typeof` the fields; a set of single values takes ranges.
  std::string definitions() const;

 private:
  std::map<std::pair<std::string, std::string>, std::string> names_;  // (fields, elements): name
  std::string definitions_;
};

}  // namespace p0fbpf::nft
