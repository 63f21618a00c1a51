#include "backend/nft/dispatch.hpp"

#include <gtest/gtest.h>

namespace p0fbpf::nft {
namespace {

const std::string kV4 = "meta nfproto ipv4", kV6 = "ip6 nexthdr tcp";

HookRule rule(int version, std::vector<std::string> matches, const std::string& counter) {
  return HookRule{version, version == 6 ? kV6 : kV4, std::move(matches),
                  " counter name \"" + counter + "\""};
}

// IPv4 rules keyed by their first word, IPv6 rules between them: the IPv4
// rules become one map with a chain per constant, each holding its rules in
// their order less the compare; the IPv6 rules, one constant alone, stay.
TEST(Dispatch, ARunOfOneFieldWithSeveralConstantsBecomesAMap) {
  std::vector<HookRule> rules = {
      rule(4, {"@nh,0,32 & 0xff03ffff == 60", "@nh,64,8 29-64"}, "sig1"),
      rule(6, {"@nh,0,32 & 0xf03fffff == 6", "@nh,32,16 != 0"}, "sig1"),
      rule(4, {"@nh,0,32 & 0xff03ffff == 52", "@nh,64,8 <= 64"}, "sig2"),
      rule(6, {"@nh,0,32 & 0xf03fffff == 6", "@nh,32,16 == 0"}, "sig2"),
      rule(4, {"@nh,0,32 & 0xff03ffff == 60"}, "sig3"),
  };
  Dispatched d = dispatch(rules, true);
  EXPECT_EQ(d.maps, 1u);
  EXPECT_EQ(d.rules,
            "    meta nfproto ipv4 @nh,0,32 & 0xff03ffff vmap { 60 : jump sig0_1, 52 : jump sig0_2 }\n"
            "    ip6 nexthdr tcp @nh,0,32 & 0xf03fffff == 6 @nh,32,16 != 0 counter name \"sig1\"\n"
            "    ip6 nexthdr tcp @nh,0,32 & 0xf03fffff == 6 @nh,32,16 == 0 counter name \"sig2\"\n");
  EXPECT_EQ(d.chains,
            "  chain sig0_1 {\n"
            "    @nh,64,8 29-64 counter name \"sig1\"\n"
            "    counter name \"sig3\"\n"
            "  }\n"
            "  chain sig0_2 {\n"
            "    @nh,64,8 <= 64 counter name \"sig2\"\n"
            "  }\n");
}

// A rule that does not begin with the run's field ends the run: the rules
// after it may overlap the rules before, and keep their place.
TEST(Dispatch, ARuleOfAnotherFieldEndsTheRun) {
  std::vector<HookRule> rules = {
      rule(4, {"@nh,0,32 & 0xff03ffff == 60"}, "sig1"),
      rule(4, {"@nh,0,32 & 0xff00ffff == 60"}, "sig2"),  // ECN bits ignored: overlaps both
      rule(4, {"@nh,0,32 & 0xff03ffff == 52"}, "sig3"),
      rule(4, {"@nh,64,8 29-64"}, "sig4"),
  };
  Dispatched d = dispatch(rules, true);
  EXPECT_EQ(d.maps, 0u);
  EXPECT_EQ(d.chains, "");
  EXPECT_EQ(d.rules,
            "    meta nfproto ipv4 @nh,0,32 & 0xff03ffff == 60 counter name \"sig1\"\n"
            "    meta nfproto ipv4 @nh,0,32 & 0xff00ffff == 60 counter name \"sig2\"\n"
            "    meta nfproto ipv4 @nh,0,32 & 0xff03ffff == 52 counter name \"sig3\"\n"
            "    meta nfproto ipv4 @nh,64,8 29-64 counter name \"sig4\"\n");
}

// What every IPv6 rule begins with goes in front of the map, which keys on
// the match after it.
TEST(Dispatch, WhatAVersionsRulesShareGoesInFrontOfTheMap) {
  std::vector<HookRule> rules = {
      rule(6, {"@nh,0,32 & 0xf03fffff == 6", "@nh,32,16 == 40", "@nh,48,16 1565-1600"}, "sig1"),
      rule(6, {"@nh,0,32 & 0xf03fffff == 6", "@nh,32,16 == 32", "@nh,48,16 1565-1600"}, "sig2"),
      rule(6, {"@nh,0,32 & 0xf03fffff == 6", "@nh,32,16 == 40", "@nh,48,16 1600-1663"}, "sig3"),
  };
  Dispatched d = dispatch(rules, true);
  EXPECT_EQ(d.maps, 1u);
  EXPECT_EQ(d.rules,
            "    ip6 nexthdr tcp @nh,0,32 & 0xf03fffff == 6 @nh,32,16 vmap { 40 : jump sig0_1, 32 : jump sig0_2 }\n");
  EXPECT_EQ(d.chains,
            "  chain sig0_1 {\n"
            "    @nh,48,16 1565-1600 counter name \"sig1\"\n"
            "    @nh,48,16 1600-1663 counter name \"sig3\"\n"
            "  }\n"
            "  chain sig0_2 {\n"
            "    @nh,48,16 1565-1600 counter name \"sig2\"\n"
            "  }\n");
}

TEST(Dispatch, OffKeepsEveryRuleInItsPlace) {
  std::vector<HookRule> rules = {
      rule(4, {"@nh,0,32 & 0xff03ffff == 60"}, "sig1"),
      rule(6, {"@nh,0,32 & 0xf03fffff == 6"}, "sig1"),
      rule(4, {"@nh,0,32 & 0xff03ffff == 52"}, "sig2"),
  };
  Dispatched d = dispatch(rules, false);
  EXPECT_EQ(d.maps, 0u);
  EXPECT_EQ(d.rules,
            "    meta nfproto ipv4 @nh,0,32 & 0xff03ffff == 60 counter name \"sig1\"\n"
            "    ip6 nexthdr tcp @nh,0,32 & 0xf03fffff == 6 counter name \"sig1\"\n"
            "    meta nfproto ipv4 @nh,0,32 & 0xff03ffff == 52 counter name \"sig2\"\n");
}

}  // namespace
}  // namespace p0fbpf::nft
