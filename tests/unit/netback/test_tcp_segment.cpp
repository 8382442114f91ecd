// tcp_segment.h: the frames the hypervisor's TCP port forwards build for the
// guest and parse from it.
#include <gtest/gtest.h>

#include <vector>

#include "checksum.h"
#include "tcp_segment.h"

using namespace atl::hv;

namespace {

TcpEndpoints ends() {
  TcpEndpoints e;
  e.src_mac = {0x52, 0x55, 0x0a, 0, 2, 2};
  e.dst_mac = {0x00, 0x16, 0x3e, 1, 2, 3};
  e.src_addr = 0x0a000202;
  e.dst_addr = 0x0a00020f;
  e.src_port = 40000;
  e.dst_port = 80;
  return e;
}

// The TCP checksum of a frame with a partial one, completed as a receiver would.
bool checksum_verifies(std::vector<uint8_t> frame, const FrameOffload& o) {
  auto h = parse_frame_headers(frame);
  if (!h) return false;
  seed_pseudo_header(frame, *h);
  complete_partial_checksum(frame, o.csum_start, o.csum_offset);
  return ones_sum(std::span<const uint8_t>(frame).subspan(h->l4), pseudo_header_sum(frame, *h, h->l4_length())) ==
         0xffff;
}

TEST(TcpSegment, BuildsAndParsesASynWithOptions) {
  TcpHeader tcp;
  tcp.seq = 0xfffffff0;
  tcp.flags = kTcpSyn;
  tcp.window = 0xffff;
  tcp.mss = 1460;
  tcp.window_scale = 4;
  std::vector<uint8_t> frame;
  FrameOffload o = build_tcp_frame(ends(), tcp, {}, 0, 7, frame);
  ASSERT_EQ(frame.size(), 14u + 20 + 28);
  EXPECT_TRUE(o.partial_csum);
  EXPECT_EQ(o.gso, GsoType::kNone);
  EXPECT_TRUE(checksum_verifies(frame, o));
  // The IPv4 header checksum is complete.
  EXPECT_EQ(ones_sum(std::span<const uint8_t>(frame).subspan(14, 20)), 0xffff);

  auto s = parse_tcp_segment(frame);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->ends.src_addr, 0x0a000202u);
  EXPECT_EQ(s->ends.dst_port, 80);
  EXPECT_EQ(s->tcp.seq, 0xfffffff0u);
  EXPECT_EQ(s->tcp.flags, kTcpSyn);
  EXPECT_EQ(s->tcp.mss, 1460);
  EXPECT_EQ(s->tcp.window_scale, 4);
  EXPECT_TRUE(s->payload.empty());
}

TEST(TcpSegment, APayloadLongerThanTheMssIsAGsoPacket) {
  std::vector<uint8_t> payload(5000);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 7);
  TcpHeader tcp;
  tcp.seq = 100;
  tcp.ack = 200;
  tcp.flags = kTcpAck | kTcpPsh;
  std::vector<uint8_t> frame;
  FrameOffload o = build_tcp_frame(ends(), tcp, payload, 1460, 1, frame);
  EXPECT_EQ(o.gso, GsoType::kTcpV4);
  EXPECT_EQ(o.gso_size, 1460);
  EXPECT_EQ(o.hdr_len, 54);
  EXPECT_TRUE(checksum_verifies(frame, o));
  auto s = parse_tcp_segment(frame);
  ASSERT_TRUE(s);
  EXPECT_EQ(std::vector<uint8_t>(s->payload.begin(), s->payload.end()), payload);
  EXPECT_FALSE(s->tcp.mss);  // options are read on a SYN only

  // One MSS or less is a plain frame.
  o = build_tcp_frame(ends(), tcp, std::span(payload).first(1460), 1460, 2, frame);
  EXPECT_EQ(o.gso, GsoType::kNone);
}

TEST(TcpSegment, EthernetPaddingIsNotPayload) {
  TcpHeader tcp;
  tcp.flags = kTcpAck;
  std::vector<uint8_t> frame;
  build_tcp_frame(ends(), tcp, {}, 0, 1, frame);
  frame.resize(60);  // padded to Ethernet's minimum
  auto s = parse_tcp_segment(frame);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->payload.empty());
}

TEST(TcpSegment, RefusesWhatIsNotAWholeIpv4TcpSegment) {
  TcpHeader tcp;
  tcp.flags = kTcpAck;
  std::vector<uint8_t> good;
  build_tcp_frame(ends(), tcp, std::vector<uint8_t>(10), 0, 1, good);
  ASSERT_TRUE(parse_tcp_segment(good));

  auto broken = [&](auto change) {
    std::vector<uint8_t> f = good;
    change(f);
    return !parse_tcp_segment(f);
  };
  EXPECT_TRUE(broken([](auto& f) { f.resize(14 + 20 + 19); }));            // too short
  EXPECT_TRUE(broken([](auto& f) { f[12] = 0x86, f[13] = 0xdd; }));       // IPv6
  EXPECT_TRUE(broken([](auto& f) { f[14 + 9] = 17; }));                   // UDP
  EXPECT_TRUE(broken([](auto& f) { f[14 + 6] |= 0x20; }));                // more fragments
  EXPECT_TRUE(broken([](auto& f) { f[14 + 7] = 8; }));                    // a fragment's offset
  EXPECT_TRUE(broken([](auto& f) { f[14] = 0x44; }));                     // IHL below 20 bytes
  EXPECT_TRUE(broken([](auto& f) { f[14 + 2] = 0x10; }));                 // IP length past the frame
  EXPECT_TRUE(broken([](auto& f) { f[14 + 3] = 30; }));                   // IP length below its headers
  EXPECT_TRUE(broken([](auto& f) { f[14 + 20 + 12] = 0x40; }));           // TCP header of 16 bytes
  EXPECT_TRUE(broken([](auto& f) { f[14 + 20 + 12] = 0xf0; }));           // TCP header past the packet
}

// A guest writes what it likes into its frames: mutated and truncated
// copies of good ones (SYN with options, data) either are refused or parse
// to a payload that lies inside the frame, within the IP length.
TEST(TcpSegment, HostileFramesParseInsideTheirBytes) {
  TcpHeader syn;
  syn.flags = kTcpSyn;
  syn.mss = 1460;
  syn.window_scale = 7;
  TcpHeader data;
  data.flags = kTcpAck | kTcpPsh;
  std::vector<uint8_t> seeds[2];
  build_tcp_frame(ends(), syn, {}, 0, 1, seeds[0]);
  build_tcp_frame(ends(), data, std::vector<uint8_t>(300, 0x5a), 0, 2, seeds[1]);
  uint32_t state = 12345;
  auto next = [&state] { return state = state * 1103515245u + 12345u; };
  unsigned parsed = 0, refused = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<uint8_t> f = seeds[round % 2];
    for (int flips = 1 + next() % 4; flips > 0; --flips) f[next() % f.size()] = static_cast<uint8_t>(next() >> 8);
    if (next() % 4 == 0) f.resize(next() % (f.size() + 1));
    auto s = parse_tcp_segment(f);
    if (!s) {
      ++refused;
      continue;
    }
    ++parsed;
    ASSERT_GE(s->payload.data(), f.data());
    ASSERT_LE(s->payload.data() + s->payload.size(), f.data() + f.size());
    size_t ip_end = 14 + (size_t(f[16]) << 8 | f[17]);
    ASSERT_LE(s->payload.data() + s->payload.size(), f.data() + ip_end);
    if (s->tcp.window_scale) {
      ASSERT_LE(*s->tcp.window_scale, 14);
    }
  }
  // Both outcomes happen, or the mutations tested nothing.
  EXPECT_GT(parsed, 1000u);
  EXPECT_GT(refused, 1000u);
}

TEST(TcpSegment, SequenceNumbersCompareAcrossTheWrap) {
  EXPECT_TRUE(seq_lt(0xfffffff0u, 0x10u));
  EXPECT_FALSE(seq_lt(0x10u, 0xfffffff0u));
  EXPECT_TRUE(seq_le(5u, 5u));
  EXPECT_FALSE(seq_lt(5u, 5u));
}

TEST(TcpSegment, MaxFramePayloadIsWholeSegments) {
  EXPECT_EQ(max_frame_payload(1460), 44u * 1460);
  EXPECT_EQ(max_frame_payload(0), 0u);
}

}  // namespace
