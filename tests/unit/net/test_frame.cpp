// The frame parser and checksum arithmetic netfront and netback share
// (atoll/inet_frame.h), from netfront's side (a head of the frame and its
// size), and netfront's flow hash; sums against a plain RFC 1071 reference.
#include "frame.h"

#include "atoll/inet_frame.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace atl::net {
namespace {

using inet::ones_sum;
using inet::pseudo_header_sum;

std::optional<inet::FrameHeaders> parse_frame(std::span<const uint8_t> head, size_t total) {
  return inet::parse_frame_headers(head, total);
}

// RFC 1071 the slow way: big-endian 16-bit words, carries folded at the end.
uint16_t reference_sum(const std::vector<uint8_t>& b) {
  uint64_t s = 0;
  for (size_t i = 0; i + 1 < b.size(); i += 2) s += static_cast<uint32_t>(b[i] << 8 | b[i + 1]);
  if (b.size() % 2) s += static_cast<uint32_t>(b.back() << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

void put16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}

// An Ethernet frame with an IPv4 (or IPv6) header, a TCP (or UDP) header
// and `payload` bytes.
std::vector<uint8_t> make_frame(bool ipv6, uint8_t proto, size_t payload, size_t tcp_options = 0) {
  size_t ip = ipv6 ? 40 : 20;
  size_t l4 = proto == 6 ? 20 + tcp_options : 8;
  std::vector<uint8_t> f(14 + ip + l4 + payload);
  put16(f, 12, ipv6 ? 0x86dd : 0x0800);
  if (ipv6) {
    f[14] = 0x60;
    put16(f, 18, static_cast<uint16_t>(l4 + payload));
    f[20] = proto;
    for (int i = 0; i < 32; ++i) f[22 + i] = static_cast<uint8_t>(i * 7 + 1);
  } else {
    f[14] = 0x45;
    put16(f, 16, static_cast<uint16_t>(ip + l4 + payload));
    f[23] = proto;
    for (int i = 0; i < 8; ++i) f[26 + i] = static_cast<uint8_t>(i * 13 + 10);
  }
  size_t t = 14 + ip;
  put16(f, t, 40000);
  put16(f, t + 2, 80);
  if (proto == 6) f[t + 12] = static_cast<uint8_t>(((20 + tcp_options) / 4) << 4);
  else put16(f, t + 4, static_cast<uint16_t>(l4 + payload));
  for (size_t i = t + l4; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i * 31 + 7);
  return f;
}

TEST(Frame, ParsesIpv4Tcp) {
  auto f = make_frame(false, 6, 100, 12);
  auto h = parse_frame(f, f.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->ip_version, 4);
  EXPECT_EQ(h->proto, 6);
  EXPECT_EQ(h->l3, 14u);
  EXPECT_EQ(h->l4, 34u);
  EXPECT_EQ(h->payload, 66u);
  EXPECT_EQ(h->l4_length(), 132u);
  EXPECT_EQ(h->l4 + h->csum_offset(), 50u);
  EXPECT_NE(flow_hash(f), 0u);
}

TEST(Frame, ParsesIpv6UdpAndVlan) {
  auto f = make_frame(true, 17, 10);
  auto h = parse_frame(f, f.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->ip_version, 6);
  EXPECT_EQ(h->l4, 54u);
  EXPECT_EQ(h->l4_length(), 18u);
  EXPECT_EQ(h->l4 + h->csum_offset(), 60u);
  // The same behind an 802.1Q tag.
  std::vector<uint8_t> tagged(f.begin(), f.begin() + 12);
  tagged.insert(tagged.end(), {0x81, 0x00, 0x00, 0x05});
  tagged.insert(tagged.end(), f.begin() + 12, f.end());
  auto t = parse_frame(tagged, tagged.size());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->l3, 18u);
  EXPECT_EQ(t->l4, 58u);
}

TEST(Frame, PaddedShortFrameIsFine) {
  auto f = make_frame(false, 6, 0);
  f.resize(60);  // Ethernet's minimum: padding after the IP packet
  auto h = parse_frame(f, f.size());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->l4_length(), 20u);
}

TEST(Frame, RefusesWhatCannotBeOffloaded) {
  auto f = make_frame(false, 6, 100);
  auto bad = f;
  bad[20] = 0x20;  // more fragments
  EXPECT_FALSE(parse_frame(bad, bad.size()));
  bad = f;
  bad[23] = 1;  // ICMP
  EXPECT_FALSE(parse_frame(bad, bad.size()));
  bad = f;
  put16(bad, 16, 2000);  // IP length past the frame
  EXPECT_FALSE(parse_frame(bad, bad.size()));
  bad = f;
  bad[14] = 0x44;  // IHL below 20 bytes
  EXPECT_FALSE(parse_frame(bad, bad.size()));
  bad = f;
  bad[34 + 12] = 0x40;  // TCP data offset 16 bytes
  EXPECT_FALSE(parse_frame(bad, bad.size()));
  bad = make_frame(false, 6, 10);
  bad[34 + 12] = 0xf0;  // 60 bytes of TCP header in a 30-byte segment
  EXPECT_FALSE(parse_frame(bad, bad.size()));
  EXPECT_FALSE(parse_frame(std::span(f).first(30), f.size()));  // head too short
  bad = f;
  put16(bad, 12, 0x0806);  // ARP
  EXPECT_FALSE(parse_frame(bad, bad.size()));
  EXPECT_EQ(flow_hash(bad), 0u);
}

TEST(Frame, FlowHashSeparatesPortsAndKeepsAFlow) {
  auto a = make_frame(false, 6, 10), b = a;
  b[34] ^= 1;  // another source port
  EXPECT_EQ(flow_hash(a), flow_hash(make_frame(false, 6, 500)));
  EXPECT_NE(flow_hash(a), flow_hash(b));
}

TEST(OnesSum, MatchesReferenceWholeAndChainedOverEvenSplits) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<uint8_t> data(rng() % 3000);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    ASSERT_EQ(ones_sum(data), reference_sum(data)) << "round " << round << " size " << data.size();
    // Pieces that start at even offsets chain through the seed (netfront sums
    // a packet page by page this way).
    uint16_t chained = 0;
    for (size_t at = 0; at < data.size();) {
      size_t n = std::min<size_t>(data.size() - at, 2 * (rng() % 40 + 1));
      chained = ones_sum({data.data() + at, n}, chained);
      at += n;
    }
    ASSERT_EQ(chained, reference_sum(data)) << "round " << round;
  }
}

TEST(OnesSum, CarriesFoldAroundOnAllOnes) {
  std::vector<uint8_t> ones(65536, 0xff);
  EXPECT_EQ(ones_sum(ones), reference_sum(ones));
  EXPECT_EQ(ones_sum(ones, 0xffff), 0xffff);
}

// A checksum seeded with the pseudo-header sum, completed over the segment,
// verifies as a receiver checks it (the sum over pseudo header and segment
// is all ones).
TEST(Frame, PseudoHeaderSeedCompletesToAValidChecksum) {
  for (bool ipv6 : {false, true}) {
    for (uint8_t proto : {uint8_t{6}, uint8_t{17}}) {
      auto f = make_frame(ipv6, proto, 1001);
      auto h = parse_frame(f, f.size());
      ASSERT_TRUE(h);
      uint16_t seed = pseudo_header_sum(f, *h, h->l4_length());
      put16(f, h->l4 + h->csum_offset(), seed);
      std::vector<uint8_t> segment(f.begin() + static_cast<long>(h->l4), f.end());
      put16(f, h->l4 + h->csum_offset(), static_cast<uint16_t>(~reference_sum(segment)));
      // Receiver's view: pseudo header built independently.
      std::vector<uint8_t> check;
      if (ipv6) check.assign(f.begin() + 22, f.begin() + 54);
      else check.assign(f.begin() + 26, f.begin() + 34);
      check.insert(check.end(), {0, 0, 0, proto});
      uint32_t len = static_cast<uint32_t>(h->l4_length());
      check.insert(check.end(), {static_cast<uint8_t>(len >> 24), static_cast<uint8_t>(len >> 16),
                                 static_cast<uint8_t>(len >> 8), static_cast<uint8_t>(len)});
      check.insert(check.end(), f.begin() + static_cast<long>(h->l4), f.end());
      EXPECT_EQ(reference_sum(check), 0xffff) << "ipv6 " << ipv6 << " proto " << int(proto);
    }
  }
}

}  // namespace
}  // namespace atl::net
