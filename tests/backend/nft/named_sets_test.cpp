#include "backend/nft/named_sets.hpp"

#include <gtest/gtest.h>

namespace p0fbpf::nft {
namespace {

TEST(NamedSets, TheSameFieldsAndElementsAreOneSet) {
  NamedSets sets;
  EXPECT_EQ(sets.use("@nh,336,16 . @nh,272,16 { 100 . 1000, 101 . 1010 }"), "@nh,336,16 . @nh,272,16 @set1");
  EXPECT_EQ(sets.use("@nh,272,16 { 3, 6-7 }"), "@nh,272,16 @set2");
  EXPECT_EQ(sets.use("@nh,336,16 . @nh,272,16 { 100 . 1000, 101 . 1010 }"), "@nh,336,16 . @nh,272,16 @set1");
  // The negated use of the same values is the same set.
  EXPECT_EQ(sets.use("@nh,272,16 != { 3, 6-7 }"), "@nh,272,16 != @set2");
  // The same elements at another field: a set of its own, typed by it.
  EXPECT_EQ(sets.use("@nh,592,16 { 3, 6-7 }"), "@nh,592,16 @set3");
  EXPECT_EQ(sets.definitions(),
            "  set set1 {\n    typeof @nh,336,16 . @nh,272,16\n    elements = { 100 . 1000, 101 . 1010 }\n  }\n"
            "  set set2 {\n    typeof @nh,272,16\n    flags interval\n    elements = { 3, 6-7 }\n  }\n"
            "  set set3 {\n    typeof @nh,592,16\n    flags interval\n    elements = { 3, 6-7 }\n  }\n");
}

TEST(NamedSets, OtherMatchesStayAsTheyAre) {
  NamedSets sets;
  for (const char* match :
       {"@nh,64,8 29-64", "@nh,32,16 != 0", "@nh,0,32 & 0xff03ffff == 1157627964", "meta length 60"}) {
    EXPECT_EQ(sets.use(match), match);
  }
  EXPECT_EQ(sets.definitions(), "");
}

}  // namespace
}  // namespace p0fbpf::nft
