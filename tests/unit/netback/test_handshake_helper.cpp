// HandshakeHelper: the ACK passt leaves out, built from passt's SYN and the
// guest's SYN,ACK (handshake_helper.h).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "checksum.h"
#include "handshake_helper.h"

using namespace atl::hv;

namespace {

using Bytes = std::vector<uint8_t>;
constexpr uint8_t kGuestMac[6] = {0x00, 0x16, 0x3e, 1, 2, 3};
constexpr uint8_t kPeerMac[6] = {0x9a, 0x55, 0x9a, 4, 5, 6};
constexpr uint8_t kGuestIp[4] = {10, 0, 2, 15};
constexpr uint8_t kPeerIp[4] = {10, 0, 2, 2};

void put32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}
uint32_t get32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }

// An IPv4 TCP frame with the MSS and (when ws >= 0) window scale options.
Bytes segment(bool to_guest, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
              uint16_t window, int ws) {
  size_t options = ws >= 0 ? 8 : 4;
  Bytes f(14 + 20 + 20 + options);
  memcpy(&f[0], to_guest ? kGuestMac : kPeerMac, 6);
  memcpy(&f[6], to_guest ? kPeerMac : kGuestMac, 6);
  f[12] = 0x08;
  uint8_t* ip = &f[14];
  ip[0] = 0x45;
  ip[2] = 0, ip[3] = uint8_t(20 + 20 + options);
  ip[8] = 64, ip[9] = 6;
  memcpy(ip + 12, to_guest ? kPeerIp : kGuestIp, 4);
  memcpy(ip + 16, to_guest ? kGuestIp : kPeerIp, 4);
  uint8_t* tcp = ip + 20;
  tcp[0] = uint8_t(sport >> 8), tcp[1] = uint8_t(sport);
  tcp[2] = uint8_t(dport >> 8), tcp[3] = uint8_t(dport);
  put32(tcp + 4, seq);
  put32(tcp + 8, ack);
  tcp[12] = uint8_t((20 + options) / 4 << 4);
  tcp[13] = flags;
  tcp[14] = uint8_t(window >> 8), tcp[15] = uint8_t(window);
  uint8_t* o = tcp + 20;
  o[0] = 2, o[1] = 4, o[2] = 0x05, o[3] = 0xb4;  // MSS 1460
  if (ws >= 0) o[4] = 1, o[5] = 3, o[6] = 3, o[7] = uint8_t(ws);
  complete_checksum(f);
  return f;
}

Bytes passt_syn(uint16_t peer_port, int ws = 7) { return segment(true, peer_port, 80, 1000, 0, 0x02, 65535, ws); }
Bytes guest_synack(uint16_t peer_port, int ws = 3) { return segment(false, 80, peer_port, 5000, 1001, 0x12, 65535, ws); }

}  // namespace

TEST(HandshakeHelper, AcksTheGuestsSynAckAsPasstWould) {
  HandshakeHelper h;
  h.on_to_guest(passt_syn(40000));
  EXPECT_EQ(h.pending(), 1u);
  auto ack = h.on_from_guest(guest_synack(40000));
  ASSERT_TRUE(ack.has_value());
  const Bytes& a = *ack;
  ASSERT_EQ(a.size(), 54u);
  EXPECT_EQ(memcmp(&a[0], kGuestMac, 6), 0);
  EXPECT_EQ(memcmp(&a[6], kPeerMac, 6), 0);
  EXPECT_EQ(memcmp(&a[14 + 12], kPeerIp, 4), 0);
  EXPECT_EQ(memcmp(&a[14 + 16], kGuestIp, 4), 0);
  const uint8_t* tcp = &a[34];
  EXPECT_EQ(get16(tcp), 40000);
  EXPECT_EQ(get16(tcp + 2), 80);
  EXPECT_EQ(get32(tcp + 4), 1001u);  // passt's next sequence number
  EXPECT_EQ(get32(tcp + 8), 5001u);  // the guest's SYN taken
  EXPECT_EQ(tcp[13], 0x10);
  EXPECT_EQ(get16(tcp + 14), 65535 >> 7) << "the SYN's window in passt's scale";
  // Both checksums verify: a frame whose sums are redone stays the same.
  Bytes again = a;
  ASSERT_TRUE(complete_checksum(again));
  EXPECT_EQ(again, a);
  uint32_t ipsum = 0;
  for (size_t i = 14; i < 34; i += 2) ipsum += get16(&a[i]);
  while (ipsum >> 16) ipsum = (ipsum & 0xffff) + (ipsum >> 16);
  EXPECT_EQ(ipsum, 0xffffu);
  EXPECT_EQ(h.pending(), 0u);
  EXPECT_FALSE(h.on_from_guest(guest_synack(40000))) << "one ACK per SYN";
}

TEST(HandshakeHelper, NoScalingUnlessBothSidesOfferedIt) {
  HandshakeHelper h;
  h.on_to_guest(passt_syn(40001, 7));
  auto ack = h.on_from_guest(guest_synack(40001, -1));
  ASSERT_TRUE(ack);
  EXPECT_EQ(get16(&(*ack)[34 + 14]), 65535);
}

TEST(HandshakeHelper, LeavesEverythingElseAlone) {
  HandshakeHelper h;
  EXPECT_FALSE(h.on_from_guest(guest_synack(40002))) << "no SYN from passt was seen";
  h.on_to_guest(segment(true, 40003, 80, 1, 1, 0x12, 100, 7));  // a SYN,ACK to the guest: its own connect
  h.on_to_guest(segment(true, 40004, 80, 1, 1, 0x10, 100, -1));
  EXPECT_EQ(h.pending(), 0u);
  h.on_to_guest(passt_syn(40005));
  EXPECT_FALSE(h.on_from_guest(segment(false, 80, 40005, 5000, 1001, 0x10, 100, -1))) << "a plain ACK";
  EXPECT_FALSE(h.on_from_guest(guest_synack(40006))) << "another port";
  Bytes runt = guest_synack(40005);
  runt.resize(30);
  EXPECT_FALSE(h.on_from_guest(runt));
  EXPECT_TRUE(h.on_from_guest(guest_synack(40005)));
}

TEST(HandshakeHelper, ForgetsTheOldestWhenFull) {
  HandshakeHelper h;
  for (uint32_t i = 0; i < HandshakeHelper::kMaxPending + 10; ++i) h.on_to_guest(passt_syn(uint16_t(1000 + i)));
  EXPECT_LE(h.pending(), HandshakeHelper::kMaxPending);
  EXPECT_FALSE(h.on_from_guest(guest_synack(1000))) << "the first was forgotten";
  EXPECT_TRUE(h.on_from_guest(guest_synack(uint16_t(1000 + HandshakeHelper::kMaxPending + 9))));
}
