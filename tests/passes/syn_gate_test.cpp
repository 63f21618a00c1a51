// The SYN gate (src/passes/syn_gate.hpp): a program for a hook that sees every
// frame decides only about TCP SYNs (SYN+ACKs for responses). Whatever
// --negate and --loose say, ARP, neighbour discovery, ICMP, UDP, established
// TCP, fragments and packets behind IPv6 extension headers get the gate's
// verdict; the SYNs go on to the signatures. libpcap's bpf_filter runs the
// programs; the IR's own evaluation must agree with it.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <string>
#include <vector>

#include "ir/evaluate.hpp"
#include "ir/ir.hpp"
#include "gate_packets.hpp"
#include "p0fbpf/compiler.hpp"

namespace p0fbpf::testing {
namespace {

std::uint32_t run(const BpfProgram& program, const std::vector<std::uint8_t>& frame) {
  auto size = static_cast<unsigned>(frame.size());
  return bpf_filter(program.instructions.data(), frame.data(), size, size);
}

std::vector<std::uint8_t> framed(const PacketSpec& spec, LinkType link, bool vlan = false) {
  std::vector<std::uint8_t> ip = build_packet(spec);
  switch (link) {
    case LinkType::Ethernet: return ethernet_frame(ip, spec.ipv6, vlan);
    case LinkType::LinuxCooked: return cooked_frame(ip, spec.ipv6);
    case LinkType::LinuxCooked2: return cooked_frame(ip, spec.ipv6, true);
    default: return ip;
  }
}

Compilation compiled(CompileOptions options, const std::string& signature = kGateSignature) {
  options.verify_each_pass = true;
  Compilation c = compile({{signature, ""}}, options);
  EXPECT_TRUE(c.ok());
  return c;
}

// bpf_filter's verdict and the IR's evaluation agree (the gate included).
void expect_agrees(const Compilation& c, const std::vector<std::uint8_t>& frame, bool negate,
                   std::uint32_t not_syn_verdict, const std::string& what) {
  std::uint32_t verdict = run(*c.program, frame);
  ir::Verdict v = ir::evaluate(*c.ir, frame, negate);
  if (v.outside_gate) {
    EXPECT_EQ(verdict, not_syn_verdict) << what;
  } else {
    EXPECT_EQ(verdict != 0, v.accepted) << what;
  }
}

struct Linked {
  LinkType link;
  bool vlan;
  const char* name;
};
constexpr Linked kLinks[] = {{LinkType::Ethernet, false, "ether"},
                             {LinkType::Ethernet, true, "ether, 802.1Q"},
                             {LinkType::LinuxCooked, false, "sll"},
                             {LinkType::LinuxCooked2, false, "sll2"},
                             {LinkType::Raw, false, "raw"}};

TEST(SynGate, NegatedProgramsLetEveryPacketButSynsThrough) {
  for (const Linked& l : kLinks) {
    for (MatchMode mode : {MatchMode::Exact, MatchMode::Loose}) {
      CompileOptions options;
      options.negate = true;
      options.mode = mode;
      options.link = {l.link, 0};
      options.syn_gate = l.link == LinkType::Raw;  // implied behind a link header
      Compilation c = compiled(options);
      std::string where = std::string(l.name) + (mode == MatchMode::Loose ? ", loose" : ", exact");
      if (l.link == LinkType::Ethernet) {
        EXPECT_EQ(run(*c.program, arp_request()), 0u) << "ARP, " << where;
      }
      for (bool v6 : {false, true}) {
        for (const NamedPacket& k : not_syns(v6)) {
          std::vector<std::uint8_t> frame = framed(k.packet, l.link, l.vlan);
          EXPECT_EQ(run(*c.program, frame), 0u) << k.name << ", " << where;
          expect_agrees(c, frame, true, 0, k.name + ", " + where);
        }
        // A short SYN: not one p0f decides on; the gate lets it by.
        PacketSpec cut = other_syn(v6);
        cut.cut = v6 ? 60 : 40;
        EXPECT_EQ(run(*c.program, framed(cut, l.link, l.vlan)), 0u) << "truncated SYN, " << where;
        // The SYNs: the one the signature matches passes, another is caught.
        std::vector<std::uint8_t> matching = framed(linux_syn(v6), l.link, l.vlan);
        std::vector<std::uint8_t> other = framed(other_syn(v6), l.link, l.vlan);
        EXPECT_EQ(run(*c.program, matching), 0u) << "matching SYN, " << where;
        EXPECT_EQ(run(*c.program, other), kAcceptWholePacket) << "other SYN, " << where;
        expect_agrees(c, matching, true, 0, "matching SYN, " + where);
        expect_agrees(c, other, true, 0, "other SYN, " + where);
      }
    }
  }
}

// For SYN+ACK signatures, the gate lets SYNs through and keeps SYN+ACKs.
TEST(SynGate, ResponseProgramsDecideOnlyAboutSynAcks) {
  CompileOptions options;
  options.negate = true;
  options.direction = Direction::Response;
  options.link = {LinkType::Ethernet, 0};
  Compilation c = compiled(options);
  for (bool v6 : {false, true}) {
    PacketSpec syn = other_syn(v6);
    EXPECT_EQ(run(*c.program, framed(syn, LinkType::Ethernet)), 0u) << "a SYN, IPv" << (v6 ? 6 : 4);
    PacketSpec syn_ack = other_syn(v6);
    syn_ack.flags = 0x12;
    syn_ack.ack = 5;
    EXPECT_EQ(run(*c.program, framed(syn_ack, LinkType::Ethernet)), kAcceptWholePacket)
        << "another SYN+ACK, IPv" << (v6 ? 6 : 4);
    PacketSpec ack = syn_ack;
    ack.flags = 0x10;
    EXPECT_EQ(run(*c.program, framed(ack, LinkType::Ethernet)), 0u) << "an ACK, IPv" << (v6 ? 6 : 4);
  }
}

// xt_bpf programs (--link raw, no syn_gate) keep their form: iptables' own
// -p tcp --syn lets only SYNs reach them, and 64 instructions are few.
TEST(SynGate, RawProgramsForIptablesHaveNoGate) {
  CompileOptions options;
  options.negate = true;
  Compilation c = compiled(options, "4:64:0:*:mss*10,6:mss,sok,ts,nop,ws:df,id+:0");
  EXPECT_TRUE(c.ir->gate.empty());
  PacketSpec ack = linux_syn(false);
  ack.flags = 0x10;
  EXPECT_EQ(run(*c.program, build_packet(ack)), kAcceptWholePacket);
  EXPECT_LE(c.program->instructions.size(), 64u);
}

// An XDP program counts the SYNs it sees: packets outside the gate return
// a verdict of their own, the signatures' verdicts are unchanged.
TEST(SynGate, OutsideTheGateIsAVerdictOfItsOwn) {
  constexpr std::uint32_t kNotSyn = 0xffffffff;
  CompileOptions options;
  options.link = {LinkType::Ethernet, 0};
  options.verdict_per_signature = true;
  options.syn_gate = true;
  options.not_syn_verdict = kNotSyn;
  Compilation c = compiled(options);
  EXPECT_EQ(run(*c.program, arp_request()), kNotSyn);
  for (bool v6 : {false, true}) {
    for (const NamedPacket& k : not_syns(v6)) {
      std::vector<std::uint8_t> frame = framed(k.packet, LinkType::Ethernet);
      EXPECT_EQ(run(*c.program, frame), kNotSyn) << k.name;
      expect_agrees(c, frame, false, kNotSyn, k.name);
    }
    // Cut inside the TCP header: the guarded gate still says "not a SYN"
    // rather than ending the program with 0.
    PacketSpec cut = linux_syn(v6);
    cut.cut = cut.tcp_options.size() + 8;
    EXPECT_EQ(run(*c.program, framed(cut, LinkType::Ethernet)), kNotSyn) << "cut SYN";
    EXPECT_EQ(run(*c.program, framed(linux_syn(v6), LinkType::Ethernet)), 1u);
    EXPECT_EQ(run(*c.program, framed(other_syn(v6), LinkType::Ethernet)), 0u);
  }
}

// --loose checks only the fields a signature names, and the direction's
// flags: an established connection's packet with a SYN's options and
// window is no match.
TEST(SynGate, LooseSignaturesMatchOnlySyns) {
  CompileOptions options;
  options.mode = MatchMode::Loose;
  for (LinkType link : {LinkType::Raw, LinkType::Ethernet}) {
    options.link = {link, 0};
    Compilation c = compiled(options);
    for (bool v6 : {false, true}) {
      EXPECT_EQ(run(*c.program, framed(linux_syn(v6), link)), kAcceptWholePacket);
      for (std::uint8_t flags : {0x10, 0x12, 0x18, 0x11, 0x03, 0x06}) {
        PacketSpec p = linux_syn(v6);
        p.flags = flags;
        EXPECT_EQ(run(*c.program, framed(p, link)), 0u) << "flags " << int(flags);
      }
    }
  }
}

// --print-ir shows the gate before the branches.
TEST(SynGate, TheIrShowsTheGate) {
  CompileOptions options;
  options.negate = true;
  options.link = {LinkType::Ethernet, 0};
  std::string text = ir_text(*compiled(options).ir);
  EXPECT_EQ(text.find("gate 1: TCP SYN (IPv4)"), 0u) << text;
  EXPECT_NE(text.find("gate 2: TCP SYN (IPv6)"), std::string::npos) << text;
  EXPECT_LT(text.find("gate 2:"), text.find("branch 1:")) << text;
}

}  // namespace
}  // namespace p0fbpf::testing
