#include "p0fbpf/packet.hpp"

#include <gtest/gtest.h>

#include "packet_builder.hpp"

namespace p0fbpf {
namespace {

testing::PacketSpec linux_syn() {
  testing::PacketSpec p;
  p.ttl = 64;
  p.ip_id = 1;
  p.seq = 5;
  p.window = 14600;
  p.tcp_options = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 3, 3, 6};
  return p;
}

std::optional<PacketFacts> facts_of(const testing::PacketSpec& spec) {
  auto bytes = testing::build_packet(spec);
  return analyze_packet(bytes.data(), bytes.size());
}

std::string sig_of(const testing::PacketSpec& spec) { return raw_signature(*facts_of(spec)); }

TEST(Packet, DesignCardSyn) {
  auto f = facts_of(linux_syn());
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->ip_version, 4);
  EXPECT_TRUE(f->is_syn());
  EXPECT_EQ(f->mss, 1460);
  EXPECT_EQ(f->window_scale, 6);
  EXPECT_EQ(f->ts1, 9u);
  EXPECT_EQ(f->header_total, 60u);
  EXPECT_EQ(f->options(), (std::vector<std::uint8_t>{2, 4, 8, 1, 3}));
  EXPECT_TRUE(f->has(Quirk::DontFragment));
  EXPECT_TRUE(f->has(Quirk::NonZeroId));
  EXPECT_EQ(sig_of(linux_syn()), "4:64+0:0:1460:mss*10,6:mss,sok,ts,nop,ws:df,id+:0");
}

TEST(Packet, RawSignatureForms) {
  auto p = linux_syn();
  p.ttl = 90;  // 38 below 128: p0f cannot guess the distance
  EXPECT_EQ(sig_of(p), "4:90+?:0:1460:mss*10,6:mss,sok,ts,nop,ws:df,id+:0");
  p = linux_syn();
  p.window = 3000;  // 2 x (1460 + 40)
  EXPECT_EQ(sig_of(p), "4:64+0:0:1460:mtu*2,6:mss,sok,ts,nop,ws:df,id+:0");
  p.window = 12345;
  p.payload = {1};
  p.ack = 0x01000000;
  EXPECT_EQ(sig_of(p), "4:64+0:0:1460:12345,6:mss,sok,ts,nop,ws:df,id+,ack+:+");
  p = linux_syn();
  p.ipv6 = true;
  p.flow_label = 1;
  EXPECT_EQ(sig_of(p), "6:64+0:0:1460:mss*10,6:mss,sok,ts,nop,ws:flow:0");
  // p0f-sendsyn's MSS on a SYN+ACK becomes '*'.
  p = linux_syn();
  p.flags = 0x12;
  p.ack = 1;
  p.tcp_options[2] = 0x05;
  p.tcp_options[3] = 0x33;  // 1331
  p.window = 1337;
  EXPECT_EQ(sig_of(p).substr(0, 16), "4:64+0:0:*:1337,");
}

TEST(Packet, OptionWalkQuirks) {
  auto p = linux_syn();
  p.tcp_options = {2, 4, 0x05, 0xb4, 0, 0, 7, 0};  // mss, eol+3 with data before the last byte
  EXPECT_EQ(sig_of(p), "4:64+0:0:1460:mss*10,0:mss,eol+3:df,id+,opt+:0");
  p.tcp_options = {2, 4, 0x05, 0xb4, 0, 0, 0, 7};  // only the last byte: p0f does not see it
  EXPECT_EQ(sig_of(p), "4:64+0:0:1460:mss*10,0:mss,eol+3:df,id+:0");
  p.tcp_options = {2, 5, 0x05, 0xb4};  // MSS length 5
  EXPECT_TRUE(facts_of(p)->has(Quirk::BadOptions));
  p.tcp_options = {1, 1, 1, 8};  // a timestamp with no room
  auto f = facts_of(p);
  EXPECT_TRUE(f->has(Quirk::BadOptions));
  EXPECT_EQ(f->options(), (std::vector<std::uint8_t>{1, 1, 1, 8}));
  p.tcp_options = {3, 3, 15, 1};
  EXPECT_TRUE(facts_of(p)->has(Quirk::ExcessiveScale));
}

TEST(Packet, WhatP0fDrops) {
  auto p = linux_syn();
  p.cut = 1;
  EXPECT_FALSE(facts_of(p).has_value());  // truncated
  p = linux_syn();
  p.fragment = 0x4001;
  EXPECT_FALSE(facts_of(p).has_value());
  p = linux_syn();
  p.protocol = 17;
  EXPECT_FALSE(facts_of(p).has_value());
  p = linux_syn();
  p.flags = 0x03;  // SYN+FIN
  EXPECT_FALSE(facts_of(p).has_value());
  p = linux_syn();
  p.data_offset_words = 4;
  EXPECT_FALSE(facts_of(p).has_value());
  std::uint8_t short_packet[39] = {0x45};
  EXPECT_FALSE(analyze_packet(short_packet, sizeof short_packet).has_value());
  p = linux_syn();
  p.extra = 10;  // link padding after the datagram is ignored
  EXPECT_EQ(sig_of(p), sig_of(linux_syn()));
}

}  // namespace
}  // namespace p0fbpf
