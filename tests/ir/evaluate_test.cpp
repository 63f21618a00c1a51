#include "ir/evaluate.hpp"

#include <gtest/gtest.h>

#include "bpf_run.hpp"
#include "backend/classic/codegen.hpp"
#include "passes/link.hpp"

namespace p0fbpf::ir {
namespace {

using Bytes = std::vector<std::uint8_t>;

Branch branch_of(ConditionPtr condition, std::uint32_t link_offset = 0) {
  Branch b{"test", std::move(condition)};
  b.link_offset = link_offset;
  return b;
}

// A 20-byte IPv4 header's worth of bytes: version/IHL 0x45, protocol at 9.
Bytes ipv4(std::uint8_t protocol, std::size_t size = 20) {
  Bytes out(size, 0);
  out[0] = 0x45;
  out[9] = protocol;
  return out;
}

Bytes ethernet(const Bytes& ip, bool tagged) {
  Bytes out(12, 0xaa);
  if (tagged) out.insert(out.end(), {0x81, 0x00, 0x00, 0x05});
  out.insert(out.end(), {0x08, 0x00});
  out.insert(out.end(), ip.begin(), ip.end());
  return out;
}

bool bpf_accepts(const Program& program, const Bytes& frame, bool negate) {
  return testing::run_bpf(generate(program, {negate}), frame) != 0;
}

TEST(Evaluate, TheFirstBranchThatHoldsDecides) {
  Program program{{branch_of(eq(load(Width::Byte, 9), 6u, "tcp")), branch_of(eq(load(Width::Byte, 9), 17u, "udp"))}};
  Verdict tcp = evaluate(program, ipv4(6));
  EXPECT_TRUE(tcp.accepted);
  EXPECT_EQ(tcp.branch, 0u);
  Verdict udp = evaluate(program, ipv4(17));
  EXPECT_TRUE(udp.accepted);
  EXPECT_EQ(udp.branch, 1u);
  Verdict icmp = evaluate(program, ipv4(1));
  EXPECT_FALSE(icmp.accepted);
  EXPECT_FALSE(icmp.branch);
  EXPECT_FALSE(icmp.ended);
  EXPECT_TRUE(evaluate(program, ipv4(1), true).accepted);
  EXPECT_FALSE(evaluate(program, ipv4(6), true).accepted);
}

TEST(Evaluate, AReadPastTheEndEndsTheWholeProgram) {
  // The second branch would hold, but classic BPF never gets there.
  Program program{{branch_of(eq(load(Width::Word, 40), 1u, "far")), branch_of(eq(load(Width::Byte, 9), 6u, "tcp"))}};
  Verdict short_packet = evaluate(program, ipv4(6));
  EXPECT_TRUE(short_packet.ended);
  EXPECT_FALSE(short_packet.accepted);
  EXPECT_FALSE(evaluate(program, ipv4(6), true).accepted);  // 0 is 0, negated or not
  EXPECT_FALSE(bpf_accepts(program, ipv4(6), false));
  EXPECT_FALSE(bpf_accepts(program, ipv4(6), true));
  // Long enough for the read: the first branch fails, the second holds.
  EXPECT_TRUE(evaluate(program, ipv4(6, 44)).accepted);
  EXPECT_TRUE(bpf_accepts(program, ipv4(6, 44), false));
  // A word that ends exactly at the end is inside.
  EXPECT_FALSE(evaluate(program, ipv4(6, 44)).ended);
  EXPECT_TRUE(evaluate(program, ipv4(6, 43)).ended);
}

TEST(Evaluate, ReadsAreLinkOffsetBytesIn) {
  Program program{{branch_of(eq(load(Width::Byte, 9), 6u, "tcp"), 4)}};
  Bytes frame = {1, 2, 3, 4};
  Bytes ip = ipv4(6);
  frame.insert(frame.end(), ip.begin(), ip.end());
  EXPECT_TRUE(evaluate(program, frame).accepted);
  EXPECT_FALSE(evaluate(program, ip).accepted);
  EXPECT_TRUE(bpf_accepts(program, frame, false));
}

TEST(Evaluate, PacketLengthCountsFromTheIpHeader) {
  Program program{{branch_of(ge(packet_length(), 40u, "length"), 14)}};
  EXPECT_TRUE(evaluate(program, Bytes(54, 0)).accepted);
  EXPECT_FALSE(evaluate(program, Bytes(53, 0)).accepted);
  EXPECT_FALSE(evaluate(program, Bytes(53, 0)).ended);
  // Shorter than the link header: the frame is compared, no wrap-around.
  EXPECT_FALSE(evaluate(program, Bytes(10, 0)).accepted);
  EXPECT_FALSE(bpf_accepts(program, Bytes(10, 0), false));
}

TEST(Evaluate, VariablesHoldWhatWasAssigned) {
  ValuePtr tcp = variable("tcp");
  ConditionPtr c = all({assign(tcp, ip_header_length(), "tcp header"), eq(load(Width::Half, 2, tcp), 80u, "port")});
  Program program{{branch_of(c)}};
  Bytes packet = ipv4(6, 24);  // IHL 5: the port at 22
  packet[23] = 80;
  EXPECT_TRUE(evaluate(program, packet).accepted);
  EXPECT_TRUE(bpf_accepts(program, packet, false));
  packet[0] = 0x44;  // IHL 4: the port at 18
  EXPECT_FALSE(evaluate(program, packet).accepted);
}

TEST(Evaluate, DivisionByZeroEndsTheProgram) {
  ValuePtr quotient = binary(BinaryOp::Div, load(Width::Byte, 1), load(Width::Byte, 2));
  Program program{{branch_of(eq(quotient, 0u, "q"))}};
  Bytes packet = ipv4(6);
  EXPECT_TRUE(evaluate(program, packet).ended);
  EXPECT_EQ(bpf_accepts(program, packet, false), false);
  packet[2] = 1;
  EXPECT_TRUE(evaluate(program, packet).accepted);  // 0 / 1
}

TEST(Evaluate, FramingFindsTheIpHeaderBehindAnOptionalTag) {
  Branch b = branch_of(eq(load(Width::Byte, 9), 6u, "tcp"));
  b.ip_version = 4;
  Program linked = apply_link(Program{{b}}, {LinkType::Ethernet, 0});
  for (bool tagged : {false, true}) {
    SCOPED_TRACE(tagged ? "tagged" : "untagged");
    EXPECT_TRUE(evaluate(linked, ethernet(ipv4(6), tagged)).accepted);
    EXPECT_FALSE(evaluate(linked, ethernet(ipv4(17), tagged)).accepted);
    // The same as the resolved program, as generated.
    for (std::uint8_t protocol : {6, 17}) {
      for (bool negate : {false, true}) {
        Bytes frame = ethernet(ipv4(protocol), tagged);
        EXPECT_EQ(evaluate(linked, frame, negate).accepted,
                  bpf_accepts(resolve_link_base(linked, negate), frame, negate));
      }
    }
  }
  Bytes ipv6_type = ethernet(ipv4(6), false);
  ipv6_type[12] = 0x86;
  ipv6_type[13] = 0xdd;
  EXPECT_FALSE(evaluate(linked, ipv6_type).accepted);
  // Negated, a frame too short for the framing fails the branch: accepted.
  EXPECT_TRUE(evaluate(linked, Bytes(10, 0), true).accepted);
  EXPECT_TRUE(bpf_accepts(resolve_link_base(linked, true), Bytes(10, 0), true));
  EXPECT_TRUE(evaluate(linked, Bytes(10, 0), false).ended);
}

}  // namespace
}  // namespace p0fbpf::ir
