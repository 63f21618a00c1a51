#include "backend/nft/paths.hpp"

namespace p0fbpf::nft {
namespace {

using ir::Condition;
using Ways = std::optional<std::vector<Path>>;

// Every way of `first` followed by every way of `then`.
Ways product(const std::vector<Path>& first, const std::vector<Path>& then, std::size_t limit) {
  if (first.size() * then.size() > limit) return std::nullopt;
  std::vector<Path> out;
  for (const Path& a : first) {
    for (const Path& b : then) {
      Path joined = a;
      joined.insert(joined.end(), b.begin(), b.end());
      out.push_back(std::move(joined));
    }
  }
  return out;
}

Ways append(std::vector<Path> into, const std::vector<Path>& more, std::size_t limit) {
  if (into.size() + more.size() > limit) return std::nullopt;
  into.insert(into.end(), more.begin(), more.end());
  return into;
}

}  // namespace

std::optional<std::vector<Path>> paths(const ir::ConditionPtr& c, bool want, std::size_t limit) {
  switch (c->kind) {
    case Condition::Kind::Constant:
      if (c->truth == want) return std::vector<Path>{Path{}};
      return std::vector<Path>{};
    case Condition::Kind::Compare:
      return std::vector<Path>{Path{Literal{c, want}}};
    case Condition::Kind::Assign:
      return std::nullopt;
    case Condition::Kind::All:
    case Condition::Kind::Any: {
      // All: true when every child is, false at the first false child. Any
      // is the same with true and false exchanged.
      const bool all = c->kind == Condition::Kind::All;
      const bool continuing = all;  // the value of a child that lets evaluation go on
      std::vector<Path> prefix = {Path{}};  // ways to reach the current child
      std::vector<Path> decided;            // ways that ended at an earlier child
      for (const auto& child : c->children) {
        Ways stop = paths(child, !continuing, limit);
        Ways go = paths(child, continuing, limit);
        if (!stop || !go) return std::nullopt;
        if (want != continuing) {
          Ways here = product(prefix, *stop, limit);
          if (!here) return std::nullopt;
          Ways joined = append(std::move(decided), *here, limit);
          if (!joined) return std::nullopt;
          decided = std::move(*joined);
        }
        Ways next = product(prefix, *go, limit);
        if (!next) return std::nullopt;
        prefix = std::move(*next);
        if (prefix.empty()) break;
      }
      if (want == continuing) return prefix;
      return decided;
    }
    case Condition::Kind::Select: {
      Ways test_true = paths(c->children[0], true, limit);
      Ways test_false = paths(c->children[0], false, limit);
      Ways then = paths(c->children[1], want, limit);
      Ways otherwise = paths(c->children[2], want, limit);
      if (!test_true || !test_false || !then || !otherwise) return std::nullopt;
      Ways a = product(*test_true, *then, limit);
      Ways b = product(*test_false, *otherwise, limit);
      if (!a || !b) return std::nullopt;
      return append(std::move(*a), *b, limit);
    }
  }
  return std::nullopt;
}

}  // namespace p0fbpf::nft
