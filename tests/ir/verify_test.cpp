#include "ir/verify.hpp"

#include <gtest/gtest.h>

#include <optional>

#include "p0fbpf/compiler.hpp"
#include "pipeline.hpp"
#include "passes/link.hpp"
#include "passes/share_versions.hpp"

namespace p0fbpf::ir {
namespace {

Program one_branch(ConditionPtr condition) {
  Program program;
  program.branches.push_back(Branch{"test", std::move(condition)});
  return program;
}

// The messages of verify(program), joined.
std::string problems(const Program& program) {
  std::string out;
  for (const auto& error : verify(program)) out += error.render() + "\n";
  return out;
}

TEST(Verify, AcceptsVariablesAssignedOnEveryPath) {
  ValuePtr tcp = variable("tcp");
  ConditionPtr set_by_both = select(eq(load(Width::Byte, 0), 0x45u, "ipv4"), assign(tcp, constant(20), "tcp (IPv4)"),
                                    assign(tcp, constant(40), "tcp (IPv6)"));
  EXPECT_EQ(problems(one_branch(all({set_by_both, eq(load(Width::Half, 2, tcp), 80u, "port")}))), "");
}

TEST(Verify, RejectsAVariableReadBeforeItIsAssigned) {
  ValuePtr tcp = variable("tcp");
  Program program = one_branch(all({eq(load(Width::Half, 2, tcp), 80u, "port"), assign(tcp, constant(20), "tcp")}));
  EXPECT_EQ(problems(program), "branch 1, condition: $tcp is read (port) where some path has not assigned it\n");
}

TEST(Verify, RejectsAVariableAssignedOnOnlyOnePath) {
  ValuePtr tcp = variable("tcp");
  // The second alternative holds without assigning it.
  ConditionPtr either = any({all({eq(load(Width::Byte, 0), 0x45u, "ipv4"), assign(tcp, constant(20), "tcp")}),
                             eq(load(Width::Byte, 0), 0x60u, "ipv6")});
  EXPECT_NE(problems(one_branch(all({either, eq(load(Width::Half, 2, tcp), 80u, "port")}))), "");
}

TEST(Verify, AFramingsAssignmentsHoldForTheCondition) {
  Program lowered = one_branch(eq(load(Width::Byte, 9), 6u, "protocol"));
  lowered.branches[0].ip_version = 4;
  Program linked = apply_link(lowered, {LinkType::Ethernet, 0});
  ASSERT_NE(linked.branches[0].framing, nullptr);
  EXPECT_EQ(problems(linked), "");
  EXPECT_EQ(problems(resolve_link_base(linked, false)), "");
  EXPECT_EQ(problems(resolve_link_base(linked, true)), "");
  // Without the framing, the resolved reads use a shift nothing set.
  Program resolved = resolve_link_base(linked, false);
  Program unframed = one_branch(conjuncts(resolved.branches[0].condition).back());
  EXPECT_NE(problems(unframed), "");
}

// The program's framing (Program::framing) runs before every branch: what
// it assigns, each branch may read.
TEST(Verify, TheProgramsFramingAssignsForEveryBranch) {
  Program lowered = one_branch(eq(load(Width::Byte, 9), 6u, "protocol"));
  lowered.branches[0].ip_version = 4;
  lowered.branches.push_back(lowered.branches[0]);
  lowered.branches[1].ip_version = 6;
  std::optional<Program> once = frame_once(apply_link(lowered, {LinkType::Ethernet, 0}));
  ASSERT_TRUE(once);
  EXPECT_EQ(problems(*once), "");
  Program unframed = *once;
  unframed.framing = nullptr;
  EXPECT_NE(problems(unframed), "");
}

TEST(Verify, RejectsLoadsOfOtherWidths) {
  auto three = std::make_shared<Value>(*load(Width::Half, 4));
  three->width = static_cast<Width>(3);
  EXPECT_EQ(problems(one_branch(eq(three, 1u, "odd"))),
            "branch 1, condition: load ldh[4] (odd) is 3 bytes wide, not 1, 2 or 4\n");
}

TEST(Verify, RejectsLoadsPastAnyDatagram) {
  EXPECT_NE(problems(one_branch(eq(load(Width::Word, 65790), 1u, "far"))), "");
  EXPECT_EQ(problems(one_branch(eq(load(Width::Word, 1400), 1u, "near"))), "");
  auto framed_and_based = std::make_shared<Value>(*frame_load(Width::Half, 12));
  framed_and_based->base = ip_header_length();
  EXPECT_NE(problems(one_branch(eq(framed_and_based, 1u, "frame"))), "");
}

TEST(Verify, RejectsShiftsOf32AndDivisionsByZero) {
  ValuePtr x = load(Width::Half, 2);
  EXPECT_NE(problems(one_branch(eq(binary(BinaryOp::Lsh, x, constant(32)), 0u, "shift"))), "");
  EXPECT_NE(problems(one_branch(eq(binary(BinaryOp::Rsh, x, constant(40)), 0u, "shift"))), "");
  EXPECT_EQ(problems(one_branch(eq(binary(BinaryOp::Lsh, x, constant(31)), 0u, "shift"))), "");
  EXPECT_NE(problems(one_branch(eq(binary(BinaryOp::Div, x, constant(0)), 0u, "div"))), "");
  EXPECT_NE(problems(one_branch(eq(binary(BinaryOp::Mod, x, constant(0)), 0u, "mod"))), "");
}

TEST(Verify, RejectsMalformedConditions) {
  auto empty_all = std::make_shared<Condition>();
  empty_all->kind = Condition::Kind::All;
  EXPECT_EQ(problems(one_branch(empty_all)), "branch 1, condition: all without children\n");
  auto short_select = std::make_shared<Condition>();
  short_select->kind = Condition::Kind::Select;
  short_select->children = {always(), always()};
  EXPECT_EQ(problems(one_branch(short_select)), "branch 1, condition: select with 2 children, not 3\n");
  auto to_a_load = std::make_shared<Condition>(*assign(variable("x"), constant(1), "x"));
  to_a_load->lhs = load(Width::Byte, 0);
  EXPECT_NE(problems(one_branch(to_a_load)), "");
  auto one_sided = std::make_shared<Condition>(*eq(load(Width::Byte, 0), 1u, "x"));
  one_sided->rhs = nullptr;
  EXPECT_NE(problems(one_branch(one_sided)), "");
}

TEST(Verify, SharedVersionsAreWellFormed) {
  CompileOptions options;
  options.verify_each_pass = true;
  options.fit_within = 1;  // every form is tried, sharing included
  std::vector<std::string_view> passes;
  options.observe_passes = [&](const PassReport& report) { passes.push_back(report.pass); };
  Compilation out = compile({{"*:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0", ""}}, options);
  ASSERT_TRUE(out.ok());
  EXPECT_NE(std::find(passes.begin(), passes.end(), "share-versions"), passes.end());
}

TEST(Verify, AMalformedPassResultStopsTheCompiler) {
  // What verify_each_pass does with a pass's broken output: a logic error
  // that names the pass.
  CompileOptions options;
  options.verify_each_pass = true;
  options.observe_passes = [](const PassReport&) {};
  Program broken = one_branch(eq(binary(BinaryOp::Lsh, load(Width::Byte, 0), constant(33)), 0u, "shift"));
  try {
    run_form_passes(broken, {false, true, false, false}, options, "test");
    FAIL() << "no error";
  } catch (const std::logic_error& error) {
    EXPECT_NE(std::string(error.what()).find("after drop-last-guards (test)"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace p0fbpf::ir
