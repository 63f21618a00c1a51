// The file p0fbpf -f nft prints: one inet table, replaced in one
// transaction, with the rules translate() makes of each signature's IR.
#pragma once

#include <string>
#include <vector>

#include "ir/ir.hpp"
#include "p0fbpf/diagnostic.hpp"
#include "p0fbpf/nft.hpp"

namespace p0fbpf::nft {

// A signature after the passes: its branches read from the IP header on.
struct Member {
  SignatureSource source;
  std::string name;  // its label, or its text
  std::vector<ir::Branch> branches;
};

// The file for the members in order, each with its counter sigN. With a
// gate (the SYN gate's branches), --negate: the gate's SYNs go to a chain in
// which each signature returns, and what none returns from gets the verdict.
// A member that nft cannot express exactly is an error on it.
NftRuleset ruleset(const std::vector<Member>& members, const ir::Program* gate, const NftOptions& options);

}  // namespace p0fbpf::nft
