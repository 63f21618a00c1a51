#include "ir/ir.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace p0fbpf::ir {
namespace {

TEST(Ir, EqualComputationsHaveEqualKeys) {
  EXPECT_EQ(load(Width::Half, 14)->key, load(Width::Half, 14)->key);
  EXPECT_NE(load(Width::Half, 14)->key, load(Width::Byte, 14)->key);
  EXPECT_NE(load(Width::Half, 14)->key, load(Width::Half, 15)->key);
  ValuePtr base = ip_header_length();
  EXPECT_EQ(load(Width::Byte, 13, base)->key, load(Width::Byte, 13, ip_header_length())->key);
  EXPECT_NE(load(Width::Byte, 13, base)->key, load(Width::Byte, 13)->key);
}

// Constants and fixed loads are one node each: drop_unused_values()
// forgets the freed ones only, and every value is still one node after.
TEST(Ir, DroppingUnusedValuesKeepsTheHeldNodes) {
  ValuePtr held = constant(424242);
  const Value* node = held.get();
  EXPECT_EQ(load(Width::Half, 424242)->key, "ldh[424242]");  // freed at once
  drop_unused_values();
  EXPECT_EQ(constant(424242).get(), node);
  ValuePtr again = load(Width::Half, 424242);
  EXPECT_EQ(again->key, "ldh[424242]");
  EXPECT_EQ(load(Width::Half, 424242).get(), again.get());
}

TEST(Ir, ConstantsFold) {
  EXPECT_EQ(binary(BinaryOp::Mul, constant(6), constant(7))->constant, 42u);
  EXPECT_EQ(binary(BinaryOp::Mod, constant(14600), constant(1460))->constant, 0u);
  EXPECT_EQ(binary(BinaryOp::Div, constant(1), constant(0))->constant, 0u);  // as BPF: no trap here
  // A constant base turns an indexed load into an absolute one.
  ValuePtr folded = load(Width::Byte, 13, constant(20));
  EXPECT_EQ(folded->base, nullptr);
  EXPECT_EQ(folded->offset, 33u);
}

TEST(Ir, IdentitiesDisappear) {
  ValuePtr x = load(Width::Half, 2);
  EXPECT_EQ(add(x, 0u), x);
  EXPECT_EQ(binary(BinaryOp::Mul, x, constant(1)), x);
  ValuePtr chained = sub(add(x, 10u), 4u);
  ASSERT_EQ(chained->kind, Value::Kind::Binary);
  EXPECT_EQ(chained->lhs, x);
  EXPECT_EQ(chained->rhs->constant, 6u);
}

TEST(Ir, ComparingConstantsGivesConstants) {
  EXPECT_TRUE(is_always(eq(constant(3), 3u, "x")));
  EXPECT_TRUE(is_never(eq(constant(3), 4u, "x")));
  EXPECT_TRUE(is_always(le(constant(3), 4u, "x")));
  EXPECT_TRUE(is_never(bits_set(constant(4), 3, "x")));
}

TEST(Ir, AllAndAnySimplify) {
  ConditionPtr a = eq(load(Width::Byte, 9), 6u, "proto");
  ConditionPtr b = le(load(Width::Byte, 8), 64u, "ttl");
  EXPECT_EQ(all({always(), a}), a);
  EXPECT_TRUE(is_never(all({a, never("no"), b})));
  EXPECT_EQ(any({never("no"), a}), a);
  EXPECT_TRUE(is_always(any({a, always()})));
  ConditionPtr nested = all({a, all({b, a})});
  EXPECT_EQ(nested->children.size(), 3u);  // flattened
  EXPECT_TRUE(is_always(all({})));
  ConditionPtr none = any({never("first reason"), never("second")});
  EXPECT_TRUE(is_never(none));
  EXPECT_EQ(none->field, "first reason");
}

TEST(Ir, NegationFollowsDeMorgan) {
  ConditionPtr a = eq(load(Width::Byte, 9), 6u, "proto");
  ConditionPtr b = le(load(Width::Byte, 8), 64u, "ttl");
  ConditionPtr n = negate(all({a, b}));
  ASSERT_EQ(n->kind, Condition::Kind::Any);
  ASSERT_EQ(n->children.size(), 2u);
  EXPECT_TRUE(n->children[0]->negated);
  EXPECT_EQ(n->children[1]->relation, Relation::Greater);
  EXPECT_FALSE(n->children[1]->negated);  // <= negated is >
  EXPECT_EQ(negate(negate(a))->negated, a->negated);
  EXPECT_TRUE(is_never(negate(always())));
}

TEST(Ir, SelectSimplifies) {
  ConditionPtr t = eq(load(Width::Byte, 9), 6u, "proto");
  ConditionPtr a = le(load(Width::Byte, 8), 64u, "ttl");
  ConditionPtr b = ge(load(Width::Byte, 8), 29u, "ttl");
  EXPECT_EQ(select(always(), a, b), a);
  EXPECT_EQ(select(never("x"), a, b), b);
  EXPECT_EQ(select(t, a, b)->kind, Condition::Kind::Select);
  ConditionPtr then_never = select(t, never("x"), b);
  ASSERT_EQ(then_never->kind, Condition::Kind::All);
  EXPECT_TRUE(then_never->children[0]->negated);
}

TEST(Ir, DumpIsReadable) {
  std::string text = to_string(all({eq(load(Width::Byte, 9), 6u, "proto"), ne(load(Width::Half, 4), 0u, "quirk id+")}));
  EXPECT_EQ(text, "all\n  ldb[9] == #6  ; proto\n  ldh[4] != #0  ; quirk id+\n");
}

TEST(Ir, SameCheckComparesTheComputationNotTheField) {
  ConditionPtr a = all({eq(load(Width::Byte, 9), 6u, "proto"), ne(load(Width::Half, 4), 0u, "quirk id+")});
  ConditionPtr b = all({eq(load(Width::Byte, 9), 6u, "ip protocol"), ne(load(Width::Half, 4), 0u, "id")});
  EXPECT_TRUE(same_check(a, b));
  EXPECT_FALSE(same_check(a, all({eq(load(Width::Byte, 9), 17u, "proto"), ne(load(Width::Half, 4), 0u, "id")})));
  EXPECT_FALSE(same_check(eq(load(Width::Byte, 9), 6u, "x"), ne(load(Width::Byte, 9), 6u, "x")));
  EXPECT_FALSE(same_check(any({a}), all({a, eq(load(Width::Byte, 0), 1u, "more")})));
}

TEST(Ir, VariablesAreSetByAssignAndReadThroughX) {
  ValuePtr tcp = variable("tcp");
  EXPECT_TRUE(tcp->uses_index());
  ValuePtr flags = load(Width::Byte, 13, tcp);
  EXPECT_EQ(flags->key, "ldb[$tcp+13]");
  EXPECT_EQ(to_string(assign(tcp, constant(20), "tcp header")), "$tcp := #20  ; tcp header\n");
  EXPECT_THROW(negate(assign(tcp, constant(20), "tcp header")), std::logic_error);
}

}  // namespace
}  // namespace p0fbpf::ir
