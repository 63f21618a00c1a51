#include "ir/field_list.hpp"

#include <gtest/gtest.h>

namespace p0fbpf {
namespace {

std::string added(std::string list, std::string_view names) {
  add_field_names(list, names);
  return list;
}

TEST(FieldList, NamesAreComparedWhole) {
  EXPECT_EQ(added("ip version 6", "ver"), "ip version 6, ver");
  EXPECT_EQ(added("olayout[0] mss", "mss"), "olayout[0] mss, mss");
  EXPECT_EQ(added("ver, olen", "olen"), "ver, olen");
  EXPECT_EQ(added("", "ttl"), "ttl");
}

TEST(FieldList, EachNameOfAListOnce) {
  EXPECT_EQ(added("ver, olen", "ver, olen, quirk ecn"), "ver, olen, quirk ecn");
  EXPECT_EQ(added("ttl", "quirks df, 0+; not a fragment"), "ttl, quirks df, 0+; not a fragment");
}

}  // namespace
}  // namespace p0fbpf
