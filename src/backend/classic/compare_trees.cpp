#include "backend/classic/compare_trees.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace p0fbpf {
namespace {

// Bounds on the work per chain: longer chains are cut (their rest is an
// interval's code), and trees over more intervals are balanced by count
// rather than searched for the best.
constexpr std::size_t kMaxCompares = 128;
constexpr std::size_t kMaxHops = 16;       // unconditional jumps followed between two compares
constexpr std::size_t kMaxBestTree = 48;   // intervals up to which the best tree is searched
// A tree replaces a chain only if it saves at least this many instructions
// per interval on average: far jumps, unknown until layout, may eat some.
constexpr double kMinGain = 0.25;

bool is_constant_compare(const PendingInstruction& p) {
  if (!p.is_jump() || p.is_unconditional_jump() || BPF_SRC(p.insn.code) != BPF_K) return false;
  std::uint32_t op = BPF_OP(p.insn.code);
  return op == BPF_JEQ || op == BPF_JGT || op == BPF_JGE;
}

bool holds(const bpf_insn& insn, std::uint32_t value) {
  switch (BPF_OP(insn.code)) {
    case BPF_JEQ: return value == insn.k;
    case BPF_JGT: return value > insn.k;
    default: return value >= insn.k;  // BPF_JGE
  }
}

// Where a jump to a label goes on: the first instruction past label markers
// and unconditional jumps, a label placed right before it, and how many
// unconditional jumps ran on the way.
struct Landing {
  std::size_t index = 0;
  int label = -1;
  std::size_t hops = 0;
};

// An interval of A's values and the code it leads to (an exit of the chain),
// with the instructions the chain ran for it and its share of the average.
struct Piece {
  std::uint32_t lo = 0, hi = 0;
  std::size_t exit = 0;
  double old_cost = 0;  // mean over the values' distinct paths down the chain
  double weight = 1;
  bool point() const { return lo == hi; }
};

// A tree node: compare A with k; a child is another node (>= 0) or an exit
// (-1 - exit).
struct Node {
  std::uint16_t op = BPF_JGT;
  std::uint32_t k = 0;
  int on_true = 0, on_false = 0;
};

int exit_ref(std::size_t exit) { return -1 - static_cast<int>(exit); }

class Balancer {
 public:
  explicit Balancer(const PendingCode& code)
      : code_(code), at_(label_positions(code, code.size())), next_label_(static_cast<int>(at_.size())) {}

  // A tree in place of the compare at `head`, and the labels of the code
  // its intervals lead to.
  struct Tree {
    std::size_t head = 0;
    std::vector<Node> nodes;
    std::vector<int> exits;
  };

  // First what goes where, then the code, in a vector of its final size (a
  // large selection's code is megabytes). Jumps go forward only: an
  // instruction is reached once every one before it has been seen. A
  // compare that another compare leads to may start a tree (a chain's
  // first compare stays).
  std::optional<PendingCode> run() {
    std::vector<bool> reached(code_.size() + 1, false);
    reached[0] = true;
    auto reach = [&](int label) { reached[at_[static_cast<std::size_t>(label)]] = true; };
    std::vector<Tree> trees;
    std::vector<bool> inner(code_.size(), false);
    std::size_t size = 0;
    for (std::size_t i = 0; i < code_.size(); ++i) {
      const PendingInstruction& p = code_[i];
      if (!reached[i]) continue;
      if (p.is_label()) {
        ++size;
        reached[i + 1] = true;
        continue;
      }
      if (is_constant_compare(p) && inner[i]) {
        if (std::optional<std::vector<Node>> nodes = tree_for(i)) {
          Tree& tree = trees.emplace_back(Tree{i, std::move(*nodes), {}});
          for (const Landing& exit : exits_) {
            tree.exits.push_back(exit.label);
            reach(exit.label);
          }
          size += 2 * tree.nodes.size() - 1;  // the nodes, and a label before each but the first
          continue;
        }
      }
      ++size;
      if (is_constant_compare(p)) {
        for (int label : {p.true_label, p.false_label}) {
          Landing l = land(label);
          if (l.index < code_.size() && is_constant_compare(code_[l.index])) inner[l.index] = true;
        }
      }
      if (p.is_jump()) {
        reach(p.true_label);
        if (!p.is_unconditional_jump()) reach(p.false_label);
      } else if (!p.ends_block()) {
        reached[i + 1] = true;
      }
    }
    if (trees.empty()) return std::nullopt;
    PendingCode out;
    out.reserve(size);
    auto tree = trees.begin();
    for (std::size_t i = 0; i < code_.size(); ++i) {
      if (!reached[i]) continue;
      if (tree != trees.end() && tree->head == i) {
        emit(*tree, code_[i], out);
        ++tree;
        continue;
      }
      out.push_back(code_[i]);
    }
    return out;
  }

 private:
  Landing land(int label) const {
    Landing l{at_[static_cast<std::size_t>(label)], label, 0};
    for (;;) {
      while (l.index < code_.size() && code_[l.index].is_label()) ++l.index;
      if (l.index >= code_.size() || !code_[l.index].is_unconditional_jump() || l.hops == kMaxHops) return l;
      l.label = code_[l.index].true_label;
      l.index = at_[static_cast<std::size_t>(l.label)];
      ++l.hops;
    }
  }

  // The chain from the compare at `head`: its compares (chain_), where each
  // side of each goes (a compare's position in chain_, or an exit), and
  // how many unconditional jumps run on the way.
  struct Step {
    int next = 0;  // >= 0: chain_ index; < 0: exit_ref
    std::size_t hops = 0;
  };

  void follow_chain(std::size_t head) {
    chain_.assign(1, head);
    steps_.clear();
    exits_.clear();
    std::unordered_map<std::size_t, int> compare_at{{head, 0}};
    std::unordered_map<std::size_t, std::size_t> exit_at;
    for (std::size_t c = 0; c < chain_.size(); ++c) {
      const PendingInstruction& p = code_[chain_[c]];
      std::array<Step, 2> sides;
      for (int side = 0; side < 2; ++side) {
        Landing l = land(side == 0 ? p.true_label : p.false_label);
        sides[side].hops = l.hops;
        auto known = compare_at.find(l.index);
        if (known != compare_at.end()) {
          sides[side].next = known->second;
        } else if (l.index < code_.size() && is_constant_compare(code_[l.index]) && chain_.size() < kMaxCompares) {
          sides[side].next = static_cast<int>(chain_.size());
          compare_at.emplace(l.index, sides[side].next);
          chain_.push_back(l.index);
        } else {
          auto [it, fresh] = exit_at.try_emplace(l.index, exits_.size());
          if (fresh) exits_.push_back(l);
          sides[side].next = exit_ref(it->second);
        }
      }
      steps_.push_back(sides);
    }
  }

  // The exit the chain reaches for `value`, and the instructions it runs.
  std::pair<std::size_t, std::size_t> walk(std::uint32_t value) const {
    int at = 0;
    std::size_t ran = 0;
    while (at >= 0) {
      auto c = static_cast<std::size_t>(at);
      const Step& step = steps_[c][holds(code_[chain_[c]].insn, value) ? 0 : 1];
      ran += 1 + step.hops;
      at = step.next;
    }
    return {static_cast<std::size_t>(-1 - at), ran};
  }

  // The chain's intervals, adjacent ones with the same exit joined, and
  // the most instructions it runs for a value.
  std::pair<std::vector<Piece>, std::size_t> pieces() const {
    std::vector<std::uint32_t> bounds = {0};
    for (std::size_t index : chain_) {
      const bpf_insn& insn = code_[index].insn;
      bool top = insn.k == std::numeric_limits<std::uint32_t>::max();
      switch (BPF_OP(insn.code)) {
        case BPF_JEQ:
          bounds.push_back(insn.k);
          if (!top) bounds.push_back(insn.k + 1);
          break;
        case BPF_JGT:
          if (!top) bounds.push_back(insn.k + 1);
          break;
        default: bounds.push_back(insn.k); break;
      }
    }
    std::sort(bounds.begin(), bounds.end());
    bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
    std::vector<Piece> out;
    std::size_t most = 0, paths = 0;
    for (std::size_t b = 0; b < bounds.size(); ++b) {
      std::uint32_t hi = b + 1 < bounds.size() ? bounds[b + 1] - 1 : std::numeric_limits<std::uint32_t>::max();
      auto [exit, ran] = walk(bounds[b]);
      most = std::max(most, ran);
      if (!out.empty() && out.back().exit == exit) {
        Piece& last = out.back();
        last.hi = hi;
        last.old_cost = (last.old_cost * static_cast<double>(paths) + static_cast<double>(ran)) /
                        static_cast<double>(paths + 1);
        ++paths;
        continue;
      }
      out.push_back({bounds[b], hi, exit, static_cast<double>(ran), 1});
      paths = 1;
    }
    return {out, most};
  }

  // The tree's intervals: each joined interval wider than a value is cut
  // in two halves of half its weight, so that an interval between two
  // others can go to both sides of a compare (`jgt` in the middle of the
  // values that lead to no signature), and a value between two halves of
  // one exit is one `jeq`.
  static std::vector<Piece> halved(const std::vector<Piece>& joined) {
    std::vector<Piece> out;
    for (const Piece& p : joined) {
      if (p.point()) {
        out.push_back(p);
        continue;
      }
      std::uint32_t mid = p.lo + (p.hi - p.lo) / 2;
      out.push_back({p.lo, mid, p.exit, p.old_cost, p.weight / 2});
      out.push_back({mid + 1, p.hi, p.exit, p.old_cost, p.weight / 2});
    }
    return out;
  }

  // Searches trees over the intervals: cost is the weighted number of
  // compares run, depth the most.
  class TreeSearch {
   public:
    explicit TreeSearch(const std::vector<Piece>& pieces) : p_(pieces), n_(pieces.size()) {
      changes_.assign(n_ + 1, 0);
      weight_.assign(n_ + 1, 0);
      for (std::size_t i = 0; i < n_; ++i) {
        changes_[i + 1] = changes_[i] + (i > 0 && p_[i].exit != p_[i - 1].exit ? 1 : 0);
        weight_[i + 1] = weight_[i] + p_[i].weight;
      }
      if (n_ <= kMaxBestTree) {
        best_.assign(n_ * n_, -1);
        cost_.assign(n_ * n_, 0);
      }
    }

    // The tree for the intervals [a, b], appended to `nodes`: its root (a
    // node, or an exit when one exit covers them all).
    int build(std::size_t a, std::size_t b, std::vector<Node>& nodes) {
      if (std::optional<int> leaf = one_exit(a, b)) return *leaf;
      if (std::optional<Node> one = one_compare(a, b)) {
        nodes.push_back(*one);
        return static_cast<int>(nodes.size() - 1);
      }
      std::size_t split = split_of(a, b);
      std::size_t at = nodes.size();
      nodes.push_back({BPF_JGT, p_[split].hi, 0, 0});
      int on_false = build(a, split, nodes);
      int on_true = build(split + 1, b, nodes);
      nodes[at].on_true = on_true;
      nodes[at].on_false = on_false;
      return static_cast<int>(at);
    }

   private:
    std::size_t exit_changes(std::size_t a, std::size_t b) const { return changes_[b + 1] - changes_[a + 1]; }
    double weight(std::size_t a, std::size_t b) const { return weight_[b + 1] - weight_[a]; }

    std::optional<int> one_exit(std::size_t a, std::size_t b) const {
      if (exit_changes(a, b) != 0) return std::nullopt;
      return exit_ref(p_[a].exit);
    }

    // A compare that decides [a, b] alone: a `jgt` between two runs of
    // one exit each, or a `jeq` of a value between two runs of another.
    std::optional<Node> one_compare(std::size_t a, std::size_t b) const {
      std::size_t changes = exit_changes(a, b);
      if (changes == 1) {
        std::size_t s = a;
        while (p_[s + 1].exit == p_[s].exit) ++s;
        return Node{BPF_JGT, p_[s].hi, exit_ref(p_[s + 1].exit), exit_ref(p_[s].exit)};
      }
      if (changes == 2 && p_[a].exit == p_[b].exit) {
        std::size_t s = a + 1;
        while (p_[s].exit == p_[a].exit) ++s;
        if (p_[s].point() && p_[s + 1].exit == p_[a].exit) {
          return Node{BPF_JEQ, p_[s].lo, exit_ref(p_[s].exit), exit_ref(p_[a].exit)};
        }
      }
      return std::nullopt;
    }

    // Where [a, b] is cut: after the interval `split` of it.
    std::size_t split_of(std::size_t a, std::size_t b) {
      if (best_.empty()) {
        // Where half the weight lies on either side.
        double half = weight_[a] + weight(a, b) / 2;
        std::size_t s = a;
        while (s + 1 < b && weight_[s + 1] < half) ++s;
        return s;
      }
      cost(a, b);
      return static_cast<std::size_t>(best_[a * n_ + b]);
    }

    // The least weighted number of compares that decides [a, b].
    double cost(std::size_t a, std::size_t b) {
      if (one_exit(a, b)) return 0;
      if (one_compare(a, b)) return weight(a, b);
      std::size_t at = a * n_ + b;
      if (best_[at] >= 0) return cost_[at];
      double least = std::numeric_limits<double>::max();
      for (std::size_t s = a; s < b; ++s) {
        double c = cost(a, s) + cost(s + 1, b);
        if (c < least) {
          least = c;
          best_[at] = static_cast<int>(s);
        }
      }
      cost_[at] = least + weight(a, b);
      return cost_[at];
    }

    const std::vector<Piece>& p_;
    std::size_t n_;
    std::vector<std::size_t> changes_;  // exit changes before each interval
    std::vector<double> weight_;        // prefix sums
    std::vector<int> best_;             // (a, b) -> split; -1: not yet known
    std::vector<double> cost_;
  };

  // The tree that replaces the chain from `head`, if it gains.
  std::optional<std::vector<Node>> tree_for(std::size_t head) {
    follow_chain(head);
    if (chain_.size() < 3) return std::nullopt;
    auto [joined, most] = pieces();
    std::vector<Piece> cut = halved(joined);
    TreeSearch search(cut);
    std::vector<Node> nodes;
    int root = search.build(0, cut.size() - 1, nodes);
    if (root < 0) return std::nullopt;  // one exit for every value: left to the chain
    // Each interval's compares in the tree, against the chain's.
    std::size_t deepest = 0;
    double old_total = 0, new_total = 0, weights = 0;
    for (std::size_t i = 0; i < cut.size(); ++i) {
      std::size_t d = 0;
      for (int at = root; at >= 0; ++d) {
        const Node& node = nodes[static_cast<std::size_t>(at)];
        bool taken = node.op == BPF_JEQ ? cut[i].lo == node.k : cut[i].lo > node.k;
        at = taken ? node.on_true : node.on_false;
      }
      deepest = std::max(deepest, d);
      old_total += cut[i].old_cost * cut[i].weight;
      new_total += static_cast<double>(d) * cut[i].weight;
      weights += cut[i].weight;
    }
    if (deepest > most || new_total > old_total - kMinGain * weights) return std::nullopt;
    return nodes;
  }

  // The tree in place of the chain's first compare `head`: its root takes
  // the head's place (and the labels before it), the other nodes follow,
  // each after a label of its own.
  void emit(const Tree& tree, const PendingInstruction& head, PendingCode& out) {
    const std::vector<Node>& nodes = tree.nodes;
    std::vector<int> labels(nodes.size(), -1);
    for (std::size_t n = 1; n < nodes.size(); ++n) labels[n] = next_label_++;
    auto target = [&](int ref) {
      return ref >= 0 ? labels[static_cast<std::size_t>(ref)] : tree.exits[static_cast<std::size_t>(-1 - ref)];
    };
    for (std::size_t n = 0; n < nodes.size(); ++n) {
      if (n > 0) out.push_back(label_marker(labels[n]));
      PendingInstruction insn = head;
      insn.insn.code = static_cast<std::uint16_t>(BPF_JMP | nodes[n].op | BPF_K);
      insn.insn.k = nodes[n].k;
      insn.true_label = target(nodes[n].on_true);
      insn.false_label = target(nodes[n].on_false);
      out.push_back(insn);
    }
  }

  const PendingCode& code_;
  std::vector<std::size_t> at_;  // label -> its marker's index
  int next_label_ = 0;
  std::vector<std::size_t> chain_;
  std::vector<std::array<Step, 2>> steps_;
  std::vector<Landing> exits_;
};

}  // namespace

std::optional<PendingCode> balance_compare_chains(const PendingCode& code) { return Balancer(code).run(); }

}  // namespace p0fbpf
