#include "passes/merge_checks.hpp"

#include <gtest/gtest.h>

namespace p0fbpf {
namespace {

using namespace ir;

TEST(MergeChecks, NeighbouringBytesBecomeOneCompare) {
  ConditionPtr c = all({eq(load(Width::Byte, 0), 0x45u, "ver"), le(load(Width::Byte, 8), 64u, "ttl"),
                        eq(load(Width::Half, 2), 60u, "len"), eq(load(Width::Byte, 9), 6u, "proto")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ldb[8] <= #64  ; ttl\n"
            "  (ld[0] & #4278255615) == #1157627964  ; ver, len\n"
            "  ldb[9] == #6  ; proto\n");
}

TEST(MergeChecks, ThreeBytesReadNoFurtherThanBefore) {
  // Bytes 57..59: the word starts at 56, never reaching 60.
  ConditionPtr c = all({eq(load(Width::Half, 57), 0x0303u, "ws"), eq(load(Width::Byte, 59), 6u, "scale")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)), "(ld[56] & #16777215) == #197382  ; ws, scale\n");
}

TEST(MergeChecks, RangeAfterFixedBytesBecomesOneWordRange) {
  // IPv6 payload length 40, next header TCP, hop limit 29..64: two compares.
  ConditionPtr c = all({eq(load(Width::Half, 4), 40u, "pclass"), le(load(Width::Byte, 7), 64u, "ttl"),
                        ge(load(Width::Byte, 7), 29u, "ttl"), eq(load(Width::Byte, 6), 6u, "proto")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ld[4] <= #2623040  ; pclass, proto, ttl\n"
            "  ld[4] >= #2623005  ; pclass, proto, ttl\n");
}

TEST(MergeChecks, WordRangeKeepsTheOrderOfTheByteBounds) {
  // The lower bound first, as the hop limit's checks came (a window above
  // 64, which most packets fail from below).
  ConditionPtr c = all({eq(load(Width::Half, 4), 40u, "pclass"), ge(load(Width::Byte, 7), 93u, "ttl"),
                        le(load(Width::Byte, 7), 128u, "ttl"), eq(load(Width::Byte, 6), 6u, "proto")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ld[4] >= #2623069  ; pclass, proto, ttl\n"
            "  ld[4] <= #2623104  ; pclass, proto, ttl\n");
}

TEST(MergeChecks, RangeAfterOneLoneFixedByteBecomesHalfWordRange) {
  ConditionPtr c = all({eq(load(Width::Byte, 58), 3u, "ws length"), le(load(Width::Byte, 59), 14u, "exws")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ldh[58] <= #782  ; ws length, exws\n"
            "  ldh[58] >= #768  ; ws length, exws\n");
}

TEST(MergeChecks, RangeStaysWhenMergingSavesNothing) {
  // Two fixed bytes would need a masked word: the range keeps its byte.
  ConditionPtr c = all({eq(load(Width::Half, 6), 0x4000u, "df"), le(load(Width::Byte, 8), 64u, "ttl")});
  EXPECT_EQ(to_string(merge_neighbouring_checks(c)),
            "all\n"
            "  ldh[6] == #16384  ; df\n"
            "  ldb[8] <= #64  ; ttl\n");
}

TEST(MergeChecks, ContradictionsNeverHold) {
  ConditionPtr c = all({eq(load(Width::Half, 0), 0x4500u, "a"), eq(load(Width::Byte, 0), 0x46u, "b")});
  EXPECT_TRUE(is_never(merge_neighbouring_checks(c)));
}

}  // namespace
}  // namespace p0fbpf
