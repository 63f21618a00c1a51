// The hook chain's rules, dispatched on their first compare: consecutive
// rules of one IP version that each begin by comparing the same field with
// a constant (`@nh,0,32 & 0xff03ffff == K`: an IPv4 selection's version,
// header length, ECN bits and datagram length) become one verdict map,
// `FIELD vmap { K1 : jump sig0_1, K2 : jump sig0_2, ... }`, and each
// chain sig0_N holds, in their order, the rules with that constant, less
// the compare. Matches that all the rules of such a run begin with alike
// (IPv6's first word) go in front of the map, which keys on the match after
// them (IPv6's payload length); the run chosen is the longest. A packet then meets one lookup and the
// rules that can hold for it, not every rule.
//
// Exact: rules with different constants for the same field never both
// hold, and neither do rules of different IP versions, so a packet meets
// the rules that can hold for it in their order, and its first match (the
// one whose verdict counts) is the same. A chain sig0_N ends without a
// verdict, and evaluation goes on after the map, as after the rules it
// replaces.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace p0fbpf::nft {

// A rule of the hook's chain: its family's matches, its own, and what it
// does (` jump sigN_M comment ...`, ` counter name ...`), as text.
struct HookRule {
  int ip_version = 4;
  std::string family;
  std::vector<std::string> matches;
  std::string action;
};

struct Dispatched {
  std::string rules;   // the hook chain's, one per line
  std::string chains;  // the chains sig0_N
  std::size_t maps = 0;
};

// `rules` in order, dispatched where it pays (a run with two or more
// constants) when `dispatch`; else as they are.
Dispatched dispatch(const std::vector<HookRule>& rules, bool dispatch);

}  // namespace p0fbpf::nft
