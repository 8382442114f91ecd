// TCP segmentation in software (gso.h): the segments of IPv4 and IPv6 packets
// checked field by field against the original, their checksums verified by
// the test's own byte-pair sum, and the packets check_tcp_gso must refuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "frame_builder.h"
#include "gso.h"

using namespace atl::hv;
using namespace nbtest;

namespace {

std::vector<Bytes> segment_all(const Bytes& frame, GsoType type, uint16_t mss, size_t max_segment = 1518) {
  FrameHeaders h;
  GsoCheck check = check_tcp_gso(frame, type, mss, max_segment, h);
  EXPECT_EQ(check, GsoCheck::kOk) << to_string(check);
  std::vector<Bytes> out;
  if (check != GsoCheck::kOk) return out;
  size_t n = tcp_segment(frame, h, mss, [&](std::span<const uint8_t> s) { out.emplace_back(s.begin(), s.end()); });
  EXPECT_EQ(n, out.size());
  return out;
}

// Checks every segment against the original: headers copied but for the
// fields that must change, payload slices in order, checksums valid.
void expect_segments(const FrameSpec& spec, const Bytes& frame, const std::vector<Bytes>& segs, uint16_t mss) {
  const size_t hdr = headers_of(spec), l3 = l3_of(spec), l4 = l4_of(spec);
  const size_t payload = frame.size() - hdr;
  ASSERT_EQ(segs.size(), (payload + mss - 1) / mss);
  Bytes joined;
  for (size_t i = 0; i < segs.size(); ++i) {
    SCOPED_TRACE("segment " + std::to_string(i));
    const Bytes& s = segs[i];
    const bool first = i == 0, last = i + 1 == segs.size();
    size_t chunk = last ? payload - mss * i : mss;
    ASSERT_EQ(s.size(), hdr + chunk);
    EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(l3), s.begin())) << "Ethernet header";
    if (spec.ip_version == 4) {
      EXPECT_EQ(get16(s, l3 + 2), l4 - l3 + (hdr - l4) + chunk) << "IPv4 total length";
      EXPECT_EQ(get16(s, l3 + 4), static_cast<uint16_t>(spec.ip_id + i)) << "IPv4 id";
      EXPECT_EQ(reference_sum(s, l3, l4), 0xffff) << "IPv4 header checksum";
      EXPECT_EQ(get16(s, l3 + 6), get16(frame, l3 + 6)) << "flags and fragment offset kept";
    } else {
      EXPECT_EQ(get16(s, l3 + 4), hdr - l4 + chunk) << "IPv6 payload length";
    }
    EXPECT_EQ(get32(s, l4 + 4), static_cast<uint32_t>(spec.seq + mss * i)) << "sequence number";
    EXPECT_EQ(get32(s, l4 + 8), get32(frame, l4 + 8)) << "ack number";
    uint8_t want = spec.tcp_flags;
    if (!last) want &= static_cast<uint8_t>(~(kFin | kPsh));
    if (!first) want &= static_cast<uint8_t>(~kCwr);
    EXPECT_EQ(s[l4 + 13], want) << "TCP flags";
    EXPECT_TRUE(std::equal(frame.begin() + static_cast<ptrdiff_t>(l4 + 20), frame.begin() + static_cast<ptrdiff_t>(hdr),
                           s.begin() + static_cast<ptrdiff_t>(l4 + 20)))
        << "TCP options";
    EXPECT_TRUE(l4_checksum_verifies(spec, s)) << "TCP checksum";
    joined.insert(joined.end(), s.begin() + static_cast<ptrdiff_t>(hdr), s.end());
  }
  EXPECT_TRUE(std::equal(joined.begin(), joined.end(), frame.begin() + static_cast<ptrdiff_t>(hdr), frame.end()))
      << "the payloads put together are the original's";
}

}  // namespace

TEST(TcpSegment, Ipv4LastSegmentShort) {
  FrameSpec spec;
  spec.tcp_flags = kAck | kPsh | kFin | kCwr;
  Bytes frame = build_frame(spec, payload_pattern(4000));
  std::vector<Bytes> segs = segment_all(frame, GsoType::kTcpV4, 1448);
  ASSERT_EQ(segs.size(), 3u);
  EXPECT_EQ(segs[0].size(), 54u + 1448);
  EXPECT_EQ(segs[2].size(), 54u + 4000 - 2 * 1448);
  expect_segments(spec, frame, segs, 1448);
}

TEST(TcpSegment, Ipv6WithTcpOptions) {
  FrameSpec spec;
  spec.ip_version = 6;
  spec.tcp_option_words = 3;  // 12 bytes, as with timestamps
  spec.tcp_flags = kAck | kPsh | kCwr;
  Bytes frame = build_frame(spec, payload_pattern(10000, 3));
  expect_segments(spec, frame, segment_all(frame, GsoType::kTcpV6, 1428), 1428);
}

TEST(TcpSegment, ExactMultipleHasNoShortSegment) {
  FrameSpec spec;
  Bytes frame = build_frame(spec, payload_pattern(2 * 1000));
  std::vector<Bytes> segs = segment_all(frame, GsoType::kTcpV4, 1000);
  ASSERT_EQ(segs.size(), 2u);
  EXPECT_EQ(segs[1].size(), 54u + 1000);
  expect_segments(spec, frame, segs, 1000);
}

TEST(TcpSegment, PayloadUnderOneSegmentIsOneFrame) {
  FrameSpec spec;
  spec.tcp_flags = kAck | kPsh | kFin | kCwr;
  Bytes frame = build_frame(spec, payload_pattern(100));
  std::vector<Bytes> segs = segment_all(frame, GsoType::kTcpV4, 1448);
  ASSERT_EQ(segs.size(), 1u);
  expect_segments(spec, frame, segs, 1448);
  EXPECT_EQ(segs[0][54 - 20 + 13], kAck | kPsh | kFin | kCwr) << "one segment is first and last";
}

TEST(TcpSegment, VlanTaggedAndOddLengths) {
  FrameSpec spec;
  spec.vlan = true;
  Bytes frame = build_frame(spec, payload_pattern(3001));
  expect_segments(spec, frame, segment_all(frame, GsoType::kTcpV4, 999), 999);
}

TEST(TcpSegment, SequenceNumberAndIpIdWrapAround) {
  FrameSpec spec;
  spec.seq = 0xffffff00;
  spec.ip_id = 0xfffe;
  Bytes frame = build_frame(spec, payload_pattern(1000));
  expect_segments(spec, frame, segment_all(frame, GsoType::kTcpV4, 200), 200);
}

TEST(TcpSegment, LargestPacketAndSmallestSegments) {
  // 65535 bytes on the wire (the netif size field's limit), cut by the
  // smallest segment size accepted: 1366 segments.
  FrameSpec spec;
  Bytes frame = build_frame(spec, payload_pattern(65535 - 54));
  expect_segments(spec, frame, segment_all(frame, GsoType::kTcpV4, kMinGsoSize), kMinGsoSize);
  spec.ip_version = 6;
  frame = build_frame(spec, payload_pattern(65535 - 74));
  expect_segments(spec, frame, segment_all(frame, GsoType::kTcpV6, 1440), 1440);
}

TEST(TcpSegment, WhateverTheChecksumFieldHeldBefore) {
  FrameSpec spec;
  spec.checksum_field = 0xdead;
  Bytes frame = build_frame(spec, payload_pattern(3000));
  expect_segments(spec, frame, segment_all(frame, GsoType::kTcpV4, 1448), 1448);
}

TEST(CheckTcpGso, RefusesWhatCannotBeSegmented) {
  FrameHeaders h;
  FrameSpec tcp4;
  FrameSpec tcp6;
  tcp6.ip_version = 6;
  const Bytes good = build_frame(tcp4, payload_pattern(3000));
  ASSERT_EQ(check_tcp_gso(good, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kOk);
  EXPECT_EQ(h.l4, 34u);
  EXPECT_EQ(h.payload, 54u);

  FrameSpec udp;
  udp.proto = kUdp;
  EXPECT_EQ(check_tcp_gso(build_frame(udp, payload_pattern(3000)), GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNotTcp)
      << "UDP";
  EXPECT_EQ(check_tcp_gso(good, GsoType::kNone, 1448, 1518, h), GsoCheck::kNotTcp) << "no GSO type";
  Bytes arp = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0x16, 0x3e, 1, 2, 3, 0x08, 0x06};
  arp.resize(60);
  EXPECT_EQ(check_tcp_gso(arp, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNotTcp) << "ARP";
  EXPECT_EQ(check_tcp_gso(good, GsoType::kTcpV6, 1448, 1518, h), GsoCheck::kWrongFamily) << "v6 type on IPv4";
  EXPECT_EQ(check_tcp_gso(build_frame(tcp6, payload_pattern(3000)), GsoType::kTcpV4, 1448, 1518, h),
            GsoCheck::kWrongFamily)
      << "v4 type on IPv6";

  Bytes padded = good;
  padded.push_back(0);
  EXPECT_EQ(check_tcp_gso(padded, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kLengthMismatch) << "bytes past IP";
  Bytes cut = good;
  cut.pop_back();
  EXPECT_EQ(check_tcp_gso(cut, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNotTcp) << "IP length past the frame";
  EXPECT_EQ(check_tcp_gso(build_frame(tcp4, {}), GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNoPayload);
  EXPECT_EQ(check_tcp_gso(good, GsoType::kTcpV4, kMinGsoSize - 1, 1518, h), GsoCheck::kBadSize);
  EXPECT_EQ(check_tcp_gso(good, GsoType::kTcpV4, 0, 1518, h), GsoCheck::kBadSize);
  EXPECT_EQ(check_tcp_gso(good, GsoType::kTcpV4, 1465, 1518, h), GsoCheck::kSegmentTooBig) << "54 + 1465 > 1518";
  EXPECT_EQ(check_tcp_gso(good, GsoType::kTcpV4, 1464, 1518, h), GsoCheck::kOk) << "54 + 1464 = 1518";

  Bytes fragment = good;
  put16(fragment, 20, 0x2000);  // MF
  EXPECT_EQ(check_tcp_gso(fragment, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNotTcp) << "IPv4 fragment";
  put16(fragment, 20, 0x0010);  // offset 128
  EXPECT_EQ(check_tcp_gso(fragment, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNotTcp) << "later fragment";

  Bytes ext = build_frame(tcp6, payload_pattern(3000));
  ext[20] = 0;  // hop-by-hop options: not followed
  EXPECT_EQ(check_tcp_gso(ext, GsoType::kTcpV6, 1440, 1518, h), GsoCheck::kNotTcp) << "IPv6 extension header";

  Bytes offset = good;
  offset[34 + 12] = 4 << 4;  // data offset 16 bytes
  EXPECT_EQ(check_tcp_gso(offset, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNotTcp) << "TCP data offset < 5";
  Bytes truncated_options = build_frame(tcp4, {});
  truncated_options[34 + 12] = 15 << 4;  // 60 bytes of header in a 20-byte segment
  EXPECT_EQ(check_tcp_gso(truncated_options, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNotTcp)
      << "TCP header past the packet";
  Bytes version = good;
  version[14] = 0x65;
  EXPECT_EQ(check_tcp_gso(version, GsoType::kTcpV4, 1448, 1518, h), GsoCheck::kNotTcp) << "IP version 6 in an IPv4 frame";
}

TEST(GsoCheck, EveryValueHasAName) {
  for (GsoCheck c : {GsoCheck::kOk, GsoCheck::kNotTcp, GsoCheck::kWrongFamily, GsoCheck::kLengthMismatch,
                     GsoCheck::kNoPayload, GsoCheck::kBadSize, GsoCheck::kSegmentTooBig})
    EXPECT_STRNE(to_string(c), "?");
}
