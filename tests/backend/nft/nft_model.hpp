// For the nft tests: a reader of the rules p0fbpf -f nft writes (raw
// payload compares and ranges at the network header, meta len, value sets
// and pair sets, inline or named, verdict maps, the family matches) that
// says which counters a packet would count, and the IP stack's view of a
// packet at the input and prerouting hooks. Written from nft's documented
// semantics, not from the backend: a read past the end of the packet fails
// the rule.
#pragma once

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace p0fbpf::testing {

// The packet as the IP stack hands it to netfilter's input or prerouting
// hook: nullopt if ip_rcv/ipv6_rcv drop it (bad version or lengths), else
// trimmed to the datagram's length. At input, IPv4 fragments wait for
// reassembly and are not seen.
inline std::optional<std::vector<std::uint8_t>> delivered(std::vector<std::uint8_t> p, bool input_hook) {
  if (p.empty()) return std::nullopt;
  if ((p[0] >> 4) == 4) {
    if (p.size() < 20) return std::nullopt;
    std::size_t ihl = 4u * (p[0] & 0x0f), total = (std::size_t{p[2]} << 8) | p[3];
    if (ihl < 20 || p.size() < ihl || total > p.size() || total < ihl) return std::nullopt;
    p.resize(total);
    std::uint16_t fragment = static_cast<std::uint16_t>((p[6] << 8) | p[7]);
    if (input_hook && (fragment & 0x3fff) != 0) return std::nullopt;
    return p;
  }
  if ((p[0] >> 4) == 6) {
    if (p.size() < 40) return std::nullopt;
    std::size_t total = 40 + ((std::size_t{p[4]} << 8) | p[5]);
    if (p[6] == 0 || total > p.size()) return std::nullopt;  // no jumbograms here
    p.resize(total);
    return p;
  }
  return std::nullopt;
}

class NftModel {
 public:
  // The rule lines of the file's chains (those with "counter name"). A rule
  // without a counter that jumps to a chain (`... jump sig1_1`) puts its
  // matches in front of every counting rule of that chain, as nft runs them:
  // the jump's matches first, then the chain's; a verdict map (`FIELD vmap
  // { K : jump sig0_1, ... }`) puts `FIELD == K` there. Jumps compose.
  explicit NftModel(const std::string& file) {
    std::istringstream in(file);
    std::string line, chain;
    // chain -> the jump's matches, as words and as text
    std::map<std::string, std::pair<std::vector<std::string>, std::string>> jumped_with;
    std::string set;  // the named set whose block this is
    while (std::getline(in, line)) {
      std::istringstream words(line);
      std::vector<std::string> tokens;
      for (std::string w; words >> w;) tokens.push_back(w);
      if (tokens.size() == 3 && tokens[0] == "chain" && tokens[2] == "{") chain = tokens[1];
      if (tokens.size() == 3 && tokens[0] == "set" && tokens[2] == "{") set = tokens[1];
      if (!set.empty() && tokens.size() >= 3 && tokens[0] == "elements" && tokens[1] == "=") {
        auto open = line.find("{ "), close = line.rfind(" }");
        sets_[set] = line.substr(open + 2, close - open - 2);
      }
      if (tokens.size() == 1 && tokens[0] == "}") set.clear();
      if (line.find("counter name \"") == std::string::npos) {
        // What the chain this line is in was jumped to with comes first.
        std::vector<std::string> before;
        std::string before_text;
        if (auto prefix = jumped_with.find(chain); prefix != jumped_with.end()) {
          before = prefix->second.first;
          before_text = prefix->second.second + " ";
        }
        // FIELD vmap { K : jump CHAIN, ... }: CHAIN's rules hold where
        // FIELD == K.
        auto vmap = std::find(tokens.begin(), tokens.end(), "vmap");
        if (vmap != tokens.end()) {
          std::vector<std::string> field = before;
          field.insert(field.end(), tokens.begin(), vmap);
          std::string field_text = before_text + line.substr(0, line.find(" vmap "));
          for (auto t = vmap + 2; t + 3 < tokens.end() && *t != "}"; t += 4) {
            std::string name = t[3];
            if (name.ends_with(",")) name.pop_back();
            std::vector<std::string> with = field;
            with.insert(with.end(), {"==", t[0]});
            jumped_with[name] = {with, field_text + " == " + t[0]};
          }
          continue;
        }
        auto jump = std::find(tokens.begin(), tokens.end(), "jump");
        if (jump != tokens.end() && jump + 1 != tokens.end()) {
          std::vector<std::string> with = before;
          with.insert(with.end(), tokens.begin(), jump);
          jumped_with[*(jump + 1)] = {with, before_text + line.substr(0, line.find(" jump "))};
        }
        continue;
      }
      Rule rule{line, counter_of(line), {}};
      if (auto prefix = jumped_with.find(chain); prefix != jumped_with.end()) {
        rule.tokens = prefix->second.first;
        rule.text = prefix->second.second + " " + line;
      }
      rule.tokens.insert(rule.tokens.end(), tokens.begin(), tokens.end());
      rules_.push_back(std::move(rule));
    }
  }

  std::size_t rules() const { return rules_.size(); }

  // Per counter name: how many rules with it `packet` matches (0 or 1 for
  // rules that are disjoint, as p0fbpf's are).
  std::map<std::string, int> counts(const std::vector<std::uint8_t>& packet) const {
    std::map<std::string, int> out;
    for (const Rule& rule : rules_) {
      out.try_emplace(rule.counter, 0);
      if (matches(rule, packet)) ++out[rule.counter];
    }
    return out;
  }

 private:
  // A rule's line, its counter and its words, split once.
  struct Rule {
    std::string text;
    std::string counter;
    std::vector<std::string> tokens;
  };

  static std::string counter_of(const std::string& rule) {
    auto at = rule.find("counter name \"") + 14;
    return rule.substr(at, rule.find('"', at) - at);
  }

  static std::optional<std::uint64_t> read(const std::vector<std::uint8_t>& p, unsigned bit, unsigned bits) {
    if ((bit + bits + 7) / 8 > p.size()) return std::nullopt;
    std::uint64_t v = 0;
    for (unsigned i = 0; i < bits; ++i) {
      unsigned b = bit + i;
      v = (v << 1) | ((p[b / 8] >> (7 - b % 8)) & 1);
    }
    return v;
  }

  static std::uint64_t number(const std::string& t) { return std::stoull(t, nullptr, 0); }

  // In a set's text ("1, 3-5"): whether v is an element.
  static bool in_set(const std::string& elements, std::uint64_t v) {
    std::istringstream in(elements);
    std::string e;
    while (std::getline(in, e, ',')) {
      e.erase(0, e.find_first_not_of(' '));
      auto dash = e.find('-');
      if (dash == std::string::npos ? number(e) == v : number(e.substr(0, dash)) <= v && v <= number(e.substr(dash + 1))) {
        return true;
      }
    }
    return false;
  }

  bool matches(const Rule& r, const std::vector<std::uint8_t>& p) const {
    const std::string& rule = r.text;
    const std::vector<std::string>& t = r.tokens;
    for (std::size_t i = 0; i < t.size();) {
      if (t[i] == "counter") return true;
      if (t[i] == "meta" && t[i + 1] == "nfproto") {
        if ((p[0] >> 4) != 4) return false;
        i += 3;
        continue;
      }
      if (t[i] == "meta" && t[i + 1] == "protocol") {  // at ingress: the EtherType, here the version it implies
        if ((p[0] >> 4) != (t[i + 2] == "ip6" ? 6 : 4)) return false;
        i += 3;
        continue;
      }
      if (t[i] == "ip6" && t[i + 1] == "nexthdr") {
        if ((p[0] >> 4) != 6 || p.size() < 40 || p[6] != 6) return false;
        i += 3;
        continue;
      }
      // @nh,O,L [& M] ...
      auto field = [&](const std::string& text) {
        auto c1 = text.find(','), c2 = text.rfind(',');
        return std::pair<unsigned, unsigned>(std::stoul(text.substr(c1 + 1, c2 - c1 - 1)), std::stoul(text.substr(c2 + 1)));
      };
      std::optional<std::uint64_t> value;
      if (t[i] == "meta" && t[i + 1] == "length") {  // the packet's length, as the hook has it
        value = p.size();
        i += 2;
      } else {
        if (!t[i].starts_with("@nh,")) ADD_FAILURE() << "unknown match " << t[i] << " in " << rule;
        auto [bit, bits] = field(t[i]);
        value = read(p, bit, bits);
        if (!value) return false;
        ++i;
      }
      if (t[i] == ".") {  // a pair set: @nh . @nh { a . b, ... }
        auto [bit2, bits2] = field(t[i + 1]);
        auto second = read(p, bit2, bits2);
        if (!second) return false;
        std::string want = std::to_string(*value) + " . " + std::to_string(*second);
        std::string elements;
        if (t[i + 2].starts_with("@")) {  // a named set
          elements = named(t[i + 2], rule);
          i += 3;
        } else {
          auto open = rule.find('{', rule.find(t[i + 1])), close = rule.find('}', open);
          elements = rule.substr(open + 2, close - open - 3);
          i += 2;
          while (t[i] != "}") ++i;
          ++i;
        }
        if ((", " + elements + ",").find(", " + want + ",") == std::string::npos) return false;
        continue;
      }
      if (t[i] == "&") {
        *value &= number(t[i + 1]);
        i += 2;
      }
      if (t[i].starts_with("@") || (t[i] == "!=" && t[i + 1].starts_with("@"))) {  // a named set
        bool negated = t[i] == "!=";
        if (negated) ++i;
        if (in_set(named(t[i], rule), *value) == negated) return false;
        ++i;
        continue;
      }
      if (t[i] == "{" || (t[i] == "!=" && t[i + 1] == "{")) {
        bool negated = t[i] == "!=";
        if (negated) ++i;
        std::string elements;
        for (++i; t[i] != "}"; ++i) elements += t[i] + " ";
        ++i;
        if (in_set(elements, *value) == negated) return false;
        continue;
      }
      // A range, "LOW-HIGH" or "!= LOW-HIGH".
      auto range = [](const std::string& text) {
        return std::isdigit(static_cast<unsigned char>(text[0])) && text.find('-') != std::string::npos;
      };
      if (range(t[i]) || (t[i] == "!=" && range(t[i + 1]))) {
        bool negated = t[i] == "!=";
        if (negated) ++i;
        if (in_set(t[i], *value) == negated) return false;
        ++i;
        continue;
      }
      const std::string& op = t[i];
      std::uint64_t k = number(t[i + 1]);
      bool ok = op == "==" ? *value == k : op == "!=" ? *value != k : op == "<" ? *value < k
                : op == "<=" ? *value <= k : op == ">" ? *value > k : op == ">=" ? *value >= k : false;
      if (op != "==" && op != "!=" && op != "<" && op != "<=" && op != ">" && op != ">=") {
        ADD_FAILURE() << "unknown operator " << op << " in " << rule;
      }
      if (!ok) return false;
      i += 2;
    }
    return true;
  }

  // The elements of the named set `@NAME` refers to.
  std::string named(const std::string& reference, const std::string& rule) const {
    auto it = sets_.find(reference.substr(1));
    if (it == sets_.end()) {
      ADD_FAILURE() << "no set " << reference << " for " << rule;
      return "";
    }
    return it->second;
  }

  std::vector<Rule> rules_;
  std::map<std::string, std::string> sets_;  // name: elements
};

}  // namespace p0fbpf::testing
