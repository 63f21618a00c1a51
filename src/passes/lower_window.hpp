// p0f's window rule (p0f/window.hpp) lowered to IR for exact-mode programs:
// the check that a packet's window is what the signature's wsize says, as
// p0f's detect_win_multi() would find it.
#pragma once

#include "ir/ir.hpp"
#include "p0fbpf/ast.hpp"

namespace p0fbpf {

// What the exact-mode window check knows about the packet.
struct WindowFacts {
  ir::ValuePtr window;
  ir::ValuePtr mss;           // the last MSS option's value, or constant 0
  ir::ConditionPtr ts1_set;   // the last timestamp's ts1 != 0 (may be constant)
  ir::ValuePtr header_total;  // IP header + TCP header length
  bool ipv6 = false;
  // Try win == M*mss first: the usual match, found in a few instructions,
  // for a few more instructions in the program.
  bool shortcut = true;
};

ir::ConditionPtr exact_window(const WindowSize& window, const WindowFacts& facts);

}  // namespace p0fbpf
