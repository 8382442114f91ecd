// complete_checksum: the TCP/UDP checksum of a frame a guest sent with
// NETTXF_csum_blank, checked against an Internet checksum (RFC 1071) computed
// here over the pseudo-header and segment, and the frames it must leave alone;
// the word-at-a-time ones_sum against that byte-pair sum; partial checksums
// (the pseudo-header seeded, completed the generic way).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "checksum.h"
#include "frame_builder.h"

using namespace atl::hv;

namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1;
const Bytes kSrc4 = {192, 168, 7, 2}, kDst4 = {10, 0, 0, 1};
const Bytes kSrc6 = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x16, 0x3e, 0xff, 0xfe, 0x01, 0x02, 0x03};
const Bytes kDst6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xca, 0xfe, 0xbe, 0xef};

void put16(Bytes& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

// The one's complement sum of the bytes as big-endian 16-bit words, an odd
// last byte padded with zero, folded to 16 bits (not inverted).
uint16_t ones_sum_reference(const Bytes& b) {
  uint64_t sum = 0;
  for (size_t i = 0; i < b.size(); i += 2) sum += (uint64_t{b[i]} << 8) | (i + 1 < b.size() ? b[i + 1] : 0u);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

Bytes ethernet(uint16_t type) {
  Bytes f = {0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc, 0x00, 0x16, 0x3e, 0x01, 0x02, 0x03, 0, 0};
  put16(f, 12, type);
  return f;
}

Bytes vlan_ethernet(uint16_t type) {
  Bytes f = ethernet(0x8100);
  f.insert(f.end(), {0x20, 0x05, 0, 0});  // PCP 1, VID 5
  put16(f, 16, type);
  return f;
}

// A TCP or UDP segment with the given payload and its checksum field holding
// `seed` (a guest leaves it zero, or as Linux does, the pseudo-header sum).
Bytes segment(uint8_t proto, const Bytes& payload, uint16_t seed = 0) {
  Bytes s(proto == kTcp ? 20 : 8, 0);
  put16(s, 0, 49152);
  put16(s, 2, proto == kTcp ? 80 : 53);
  if (proto == kTcp) {
    put16(s, 4, 0x1234), put16(s, 6, 0x5678);  // seq
    s[12] = 5 << 4;                            // data offset
    s[13] = 0x18;                              // PSH, ACK
    put16(s, 14, 64240);
    put16(s, 16, seed);
  } else {
    put16(s, 4, static_cast<uint32_t>(8 + payload.size()));
    put16(s, 6, seed);
  }
  append(s, payload);
  return s;
}

size_t checksum_at(uint8_t proto) { return proto == kTcp ? 16 : 6; }

Bytes ipv4(uint8_t proto, const Bytes& l4, unsigned option_words = 0) {
  Bytes h(20 + option_words * 4, 0);
  h[0] = static_cast<uint8_t>(0x40 | (5 + option_words));
  put16(h, 2, static_cast<uint32_t>(h.size() + l4.size()));
  h[8] = 64;
  h[9] = proto;
  for (unsigned i = 0; i < option_words * 4; ++i) h[20 + i] = 1;  // NOPs
  std::copy(kSrc4.begin(), kSrc4.end(), h.begin() + 12);
  std::copy(kDst4.begin(), kDst4.end(), h.begin() + 16);
  append(h, l4);
  return h;
}

Bytes ipv6(uint8_t next, const Bytes& l4) {
  Bytes h(8, 0);
  h[0] = 0x60;
  put16(h, 4, static_cast<uint32_t>(l4.size()));
  h[6] = next;
  h[7] = 64;
  append(h, kSrc6);
  append(h, kDst6);
  append(h, l4);
  return h;
}

Bytes pseudo4(uint8_t proto, size_t length) {
  Bytes p = kSrc4;
  append(p, kDst4);
  p.insert(p.end(), {0, proto, 0, 0});
  put16(p, 10, static_cast<uint32_t>(length));
  return p;
}

Bytes pseudo6(uint8_t next, size_t length) {
  Bytes p = kSrc6;
  append(p, kDst6);
  p.insert(p.end(), {0, 0, 0, 0, 0, 0, 0, next});
  put16(p, 34, static_cast<uint32_t>(length));
  return p;
}

// Whether the segment at `l4` (of `length` bytes) verifies under `pseudo`.
bool verifies(const Bytes& frame, size_t l4, size_t length, Bytes pseudo) {
  pseudo.insert(pseudo.end(), frame.begin() + static_cast<ptrdiff_t>(l4),
                frame.begin() + static_cast<ptrdiff_t>(l4 + length));
  return ones_sum_reference(pseudo) == 0xffff;
}

uint16_t field(const Bytes& frame, size_t at) { return static_cast<uint16_t>(frame[at] << 8 | frame[at + 1]); }

// Completes the checksum and checks that it verifies and that nothing but the
// checksum field changed.
void complete_and_verify(Bytes frame, size_t l4, uint8_t proto, const Bytes& pseudo) {
  size_t length = pseudo.size() == 12 ? field(pseudo, 10) : field(pseudo, 34);
  Bytes before = frame;
  ASSERT_TRUE(complete_checksum(frame));
  size_t at = l4 + checksum_at(proto);
  EXPECT_TRUE(verifies(frame, l4, length, pseudo)) << "checksum " << std::hex << field(frame, at);
  if (proto == kUdp) {
    EXPECT_NE(field(frame, at), 0u);
  }
  frame[at] = before[at], frame[at + 1] = before[at + 1];
  EXPECT_EQ(frame, before);
}

const Bytes kPayload = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n', 0xff, 0x00, 0x80};

}  // namespace

TEST(CompleteChecksum, Ipv4Tcp) {
  Bytes frame = ethernet(0x0800);
  append(frame, ipv4(kTcp, segment(kTcp, kPayload)));
  complete_and_verify(frame, 34, kTcp, pseudo4(kTcp, 20 + kPayload.size()));
}

TEST(CompleteChecksum, Ipv4TcpWithOptionsAndASeededField) {
  // Linux seeds the field with the pseudo-header sum; it is recomputed anyway.
  Bytes frame = ethernet(0x0800);
  append(frame, ipv4(kTcp, segment(kTcp, kPayload, 0xabcd), 2));
  complete_and_verify(frame, 42, kTcp, pseudo4(kTcp, 20 + kPayload.size()));
}

TEST(CompleteChecksum, Ipv4Udp) {
  Bytes frame = ethernet(0x0800);
  append(frame, ipv4(kUdp, segment(kUdp, kPayload)));
  complete_and_verify(frame, 34, kUdp, pseudo4(kUdp, 8 + kPayload.size()));
}

TEST(CompleteChecksum, Ipv4UdpIgnoresEthernetPadding) {
  // A short datagram padded to the 60-byte minimum: the IP total length, not
  // the frame, says where the segment ends.
  Bytes frame = ethernet(0x0800);
  append(frame, ipv4(kUdp, segment(kUdp, {1, 2, 3})));
  frame.resize(60, 0xee);
  complete_and_verify(frame, 34, kUdp, pseudo4(kUdp, 11));
}

TEST(CompleteChecksum, Ipv6Tcp) {
  Bytes frame = ethernet(0x86dd);
  append(frame, ipv6(kTcp, segment(kTcp, kPayload)));
  complete_and_verify(frame, 54, kTcp, pseudo6(kTcp, 20 + kPayload.size()));
}

TEST(CompleteChecksum, Ipv6Udp) {
  Bytes frame = ethernet(0x86dd);
  append(frame, ipv6(kUdp, segment(kUdp, kPayload)));
  complete_and_verify(frame, 54, kUdp, pseudo6(kUdp, 8 + kPayload.size()));
}

TEST(CompleteChecksum, VlanTaggedIpv4Tcp) {
  Bytes frame = vlan_ethernet(0x0800);
  append(frame, ipv4(kTcp, segment(kTcp, kPayload)));
  complete_and_verify(frame, 38, kTcp, pseudo4(kTcp, 20 + kPayload.size()));
}

TEST(CompleteChecksum, VlanTaggedIpv6Udp) {
  Bytes frame = vlan_ethernet(0x86dd);
  append(frame, ipv6(kUdp, segment(kUdp, kPayload)));
  complete_and_verify(frame, 58, kUdp, pseudo6(kUdp, 8 + kPayload.size()));
}

TEST(CompleteChecksum, UdpChecksumOfZeroIsSentAsAllOnes) {
  // Two payload bytes chosen so that the sum of everything else is 0xffff: the
  // computed checksum is then 0, which UDP reserves for "none".
  Bytes payload = {0x12, 0x34, 0, 0};
  Bytes l4 = segment(kUdp, payload);
  Bytes sum_input = pseudo4(kUdp, l4.size());
  append(sum_input, l4);
  uint16_t rest = ones_sum_reference(sum_input);
  put16(l4, l4.size() - 2, 0xffffu - rest);
  sum_input = pseudo4(kUdp, l4.size());
  append(sum_input, l4);
  ASSERT_EQ(ones_sum_reference(sum_input), 0xffff);

  Bytes frame = ethernet(0x0800);
  append(frame, ipv4(kUdp, l4));
  ASSERT_TRUE(complete_checksum(frame));
  EXPECT_EQ(field(frame, 34 + 6), 0xffff);
  EXPECT_TRUE(verifies(frame, 34, l4.size(), pseudo4(kUdp, l4.size())));
}

TEST(CompleteChecksum, OddLengthSegment) {
  Bytes odd = {1, 2, 3, 4, 5};
  Bytes frame = ethernet(0x0800);
  append(frame, ipv4(kTcp, segment(kTcp, odd)));
  complete_and_verify(frame, 34, kTcp, pseudo4(kTcp, 25));
}

namespace {

void expect_refused(Bytes frame, const char* what) {
  Bytes before = frame;
  EXPECT_FALSE(complete_checksum(frame)) << what;
  EXPECT_EQ(frame, before) << what;
}

Bytes tcp4_frame() {
  Bytes f = ethernet(0x0800);
  append(f, ipv4(kTcp, segment(kTcp, kPayload, 0x5555)));
  return f;
}

Bytes udp6_frame() {
  Bytes f = ethernet(0x86dd);
  append(f, ipv6(kUdp, segment(kUdp, kPayload, 0x5555)));
  return f;
}

}  // namespace

TEST(CompleteChecksum, MalformedFramesAreLeftAlone) {
  expect_refused({}, "empty");
  expect_refused(Bytes(13, 0), "shorter than an Ethernet header");
  expect_refused(ethernet(0x8100), "VLAN tag cut off");
  expect_refused(ethernet(0x0800), "no IPv4 header");

  Bytes f = tcp4_frame();
  f.resize(14 + 19);
  expect_refused(f, "IPv4 header cut short");

  f = tcp4_frame();
  f[14] = 0x44;  // IHL 4: 16 bytes
  expect_refused(f, "IPv4 header length under 20");

  f = tcp4_frame();
  f[14] = 0x4f;  // IHL 15: 60 bytes, more than the total length
  put16(f, 16, 40);
  expect_refused(f, "IPv4 total length under the header length");

  f = tcp4_frame();
  put16(f, 16, field(f, 16) + 1);
  expect_refused(f, "IPv4 total length past the frame");

  f = tcp4_frame();
  f[23] = kIcmp;
  expect_refused(f, "ICMP");

  f = tcp4_frame();
  put16(f, 16, 20 + 19);
  expect_refused(f, "TCP header cut short by the IPv4 length");

  f = ethernet(0x0800);
  append(f, ipv4(kUdp, {0, 53, 0, 53, 0, 7, 0}));
  expect_refused(f, "UDP header cut short");

  f = udp6_frame();
  f.resize(14 + 39);
  expect_refused(f, "IPv6 header cut short");

  f = udp6_frame();
  put16(f, 18, field(f, 18) + 1);
  expect_refused(f, "IPv6 payload length past the frame");

  f = udp6_frame();
  f[20] = 0;  // a hop-by-hop options header first: not followed
  expect_refused(f, "IPv6 extension header");

  f = udp6_frame();
  f[20] = 58;
  expect_refused(f, "ICMPv6");

  Bytes arp = ethernet(0x0806);
  arp.insert(arp.end(), {0, 1, 8, 0, 6, 4, 0, 1});
  arp.resize(60, 0);
  expect_refused(arp, "ARP");

  f = tcp4_frame();
  put16(f, 12, 0x88a8);  // an 802.1ad outer tag is not looked into
  expect_refused(f, "QinQ");
}

TEST(CompleteChecksum, FragmentsAndBadTcpHeadersAreLeftAlone) {
  Bytes f = tcp4_frame();
  put16(f, 20, 0x2000);  // more fragments: the checksum covers the whole datagram
  expect_refused(f, "first IPv4 fragment");
  f = tcp4_frame();
  put16(f, 20, 0x0008);
  expect_refused(f, "later IPv4 fragment");
  f = tcp4_frame();
  f[34 + 12] = 4 << 4;
  expect_refused(f, "TCP data offset under 5 words");
  f = tcp4_frame();
  f[34 + 12] = 10 << 4;  // 40 bytes of header, 39 in the segment
  expect_refused(f, "TCP header past the segment");
}

TEST(OnesSum, MatchesTheBytePairSumAtEveryLengthAndAlignment) {
  // The word-at-a-time sum reads 8, 2 and 1-byte pieces: every length up to a
  // few words past its 32-byte loop, at every alignment, and a GSO packet's.
  Bytes data = nbtest::payload_pattern(65536 + 8, 11);
  for (size_t i = 0; i < data.size(); i += 97) data[i] = 0xff;  // carries
  for (size_t align = 0; align < 8; ++align) {
    for (size_t len = 0; len <= 300; ++len) {
      Bytes slice(data.begin() + static_cast<ptrdiff_t>(align), data.begin() + static_cast<ptrdiff_t>(align + len));
      ASSERT_EQ(ones_sum(std::span<const uint8_t>(data.data() + align, len)), ones_sum_reference(slice))
          << "align " << align << " length " << len;
    }
  }
  for (size_t len : {1499u, 1500u, 4096u, 65535u, 65536u}) {
    Bytes slice(data.begin() + 3, data.begin() + 3 + static_cast<ptrdiff_t>(len));
    EXPECT_EQ(ones_sum(slice), ones_sum_reference(slice)) << "length " << len;
  }
  Bytes ones(65536, 0xff);
  EXPECT_EQ(ones_sum(ones), 0xffff) << "all ones stay all ones";
  EXPECT_EQ(ones_sum({}), 0);
}

TEST(OnesSum, AddsTheSeed) {
  Bytes b = {0x12, 0x34, 0x56};
  EXPECT_EQ(ones_sum(b, 0x1000), 0x1234 + 0x5600 + 0x1000);
  EXPECT_EQ(ones_sum(b, 0xfffff), ones_sum_reference({0x12, 0x34, 0x56, 0, 0x00, 0x0f, 0xff, 0xff}));
}

TEST(PartialChecksum, SeededThenCompletedVerifies) {
  for (int version : {4, 6}) {
    for (uint8_t proto : {nbtest::kTcp, nbtest::kUdp}) {
      SCOPED_TRACE("IPv" + std::to_string(version) + " proto " + std::to_string(proto));
      nbtest::FrameSpec spec;
      spec.ip_version = version;
      spec.proto = proto;
      spec.checksum_field = 0xbeef;
      Bytes f = nbtest::build_frame(spec, nbtest::payload_pattern(1001));
      auto h = parse_frame_headers(f);
      ASSERT_TRUE(h.has_value());
      EXPECT_EQ(h->l4, nbtest::l4_of(spec));
      EXPECT_EQ(h->payload, nbtest::headers_of(spec));
      EXPECT_EQ(h->end, f.size());
      seed_pseudo_header(f, *h);
      size_t field = h->l4 + h->csum_offset();
      EXPECT_EQ(nbtest::get16(f, field), nbtest::pseudo_sum(spec, f)) << "the pseudo-header sum";
      ASSERT_TRUE(complete_partial_checksum(f, h->l4, h->csum_offset()));
      EXPECT_TRUE(nbtest::l4_checksum_verifies(spec, f));
    }
  }
}

TEST(PartialChecksum, FieldOutsideTheFrameIsRefused) {
  Bytes f(100, 0x11);
  Bytes before = f;
  EXPECT_FALSE(complete_partial_checksum(f, 100, 0));
  EXPECT_FALSE(complete_partial_checksum(f, 90, 9));
  EXPECT_FALSE(complete_partial_checksum(f, 50, 0xffff));
  EXPECT_FALSE(complete_partial_checksum(f, size_t{1} << 40, 6));
  EXPECT_EQ(f, before);
  EXPECT_TRUE(complete_partial_checksum(f, 90, 8)) << "the last two bytes";
}
