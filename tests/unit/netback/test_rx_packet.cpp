// netback's receive decisions (rx_packet.h): what a frame from the uplink
// becomes for frontends with and without scatter-gather, GSO and blank
// checksums, and how packets are laid out on a real rx ring page (a FrontRing
// posting buffers, the BackRing answering), with a fake grant copy.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "atoll/shared_ring.h"
#include "frame_builder.h"
#include "rx_packet.h"

using namespace atl;
using namespace atl::hv;
using namespace nbtest;

namespace {

std::vector<RxPacket> prepare(const Bytes& frame, const FrameOffload& offload, const FrontendFeatures& fe,
                              bool want_taken = true) {
  std::vector<RxPacket> out;
  bool taken = prepare_rx_packets(frame, offload, fe, [&](RxPacket p) { out.push_back(std::move(p)); });
  EXPECT_EQ(taken, want_taken);
  return out;
}

const FrontendFeatures kLegacy{};  // no feature keys (today's netfront: feature-no-csum-offload=1)
FrontendFeatures full_offload() {
  FrontendFeatures fe;
  fe.sg = fe.gso_tcpv4 = fe.gso_tcpv6 = fe.csum_blank = fe.ipv6_csum_blank = true;
  return fe;
}

FrameOffload partial(const FrameSpec& s) {
  FrameOffload o;
  o.partial_csum = true;
  o.csum_start = static_cast<uint16_t>(l4_of(s));
  o.csum_offset = s.proto == kTcp ? 16 : 6;
  return o;
}

FrameOffload gso(const FrameSpec& s, uint16_t mss) {
  FrameOffload o = partial(s);
  o.gso = s.ip_version == 4 ? GsoType::kTcpV4 : GsoType::kTcpV6;
  o.gso_size = mss;
  o.hdr_len = static_cast<uint16_t>(headers_of(s));
  return o;
}

}  // namespace

TEST(PrepareRx, PlainFrameGoesAsItIs) {
  FrameSpec spec;
  Bytes f = build_frame(spec, payload_pattern(500));
  auto out = prepare(f, {}, kLegacy);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, f);
  EXPECT_FALSE(out[0].csum_blank);
  EXPECT_EQ(out[0].gso, GsoType::kNone);
}

TEST(PrepareRx, FrameOverAPageNeedsScatterGather) {
  Bytes jumbo(9000, 0x55);
  prepare(jumbo, {}, kLegacy, false);
  EXPECT_EQ(prepare(jumbo, {}, full_offload()).size(), 1u);
  EXPECT_EQ(prepare(Bytes(4096, 0x55), {}, kLegacy).size(), 1u) << "one page is fine";
}

TEST(PrepareRx, PartialChecksumLeftBlankForAFrontendThatTakesIt) {
  for (int version : {4, 6}) {
    FrameSpec spec;
    spec.ip_version = version;
    spec.checksum_field = 0x1111;  // whatever the kernel left: re-seeded
    Bytes f = build_frame(spec, payload_pattern(700));
    auto out = prepare(f, partial(spec), full_offload());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].csum_blank);
    EXPECT_EQ(get16(out[0].data, l4_of(spec) + 16), pseudo_sum(spec, f)) << "IPv" << version;
  }
}

TEST(PrepareRx, PartialChecksumCompletedForAFrontendThatDoesNot) {
  FrontendFeatures no_csum = full_offload();
  no_csum.csum_blank = false;  // feature-no-csum-offload=1
  FrontendFeatures v4_only = full_offload();
  v4_only.ipv6_csum_blank = false;
  struct Case {
    const char* what;
    int version;
    uint8_t proto;
    FrontendFeatures fe;
  } cases[] = {{"legacy IPv4 TCP", 4, kTcp, kLegacy},
               {"no-csum-offload IPv4 UDP", 4, kUdp, no_csum},
               {"no-csum-offload IPv6 TCP", 6, kTcp, no_csum},
               {"no ipv6-csum-offload", 6, kUdp, v4_only}};
  for (const Case& c : cases) {
    FrameSpec spec;
    spec.ip_version = c.version;
    spec.proto = c.proto;
    Bytes f = build_frame(spec, payload_pattern(333));
    auto out = prepare(f, partial(spec), c.fe);
    ASSERT_EQ(out.size(), 1u) << c.what;
    EXPECT_FALSE(out[0].csum_blank) << c.what;
    EXPECT_TRUE(l4_checksum_verifies(spec, out[0].data)) << c.what;
  }
}

TEST(PrepareRx, OtherPartialChecksumsAreCompletedTheGenericWay) {
  // A checksum starting where the parser sees no TCP/UDP header (here: inside
  // an unknown ethertype) is still summed from csum_start to the end.
  Bytes f = payload_pattern(200);
  f[12] = 0x88, f[13] = 0xb5;
  f[24] = f[25] = 0;  // the seed: none
  FrameOffload o;
  o.partial_csum = true;
  o.csum_start = 20;
  o.csum_offset = 4;
  auto out = prepare(f, o, full_offload());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].csum_blank);
  EXPECT_EQ(reference_sum(out[0].data, 20), 0xffff);
  o.csum_start = 199;
  prepare(f, o, full_offload(), false);
}

TEST(PrepareRx, GsoPacketWholeToAGsoFrontend) {
  FrameSpec spec;
  Bytes f = build_frame(spec, payload_pattern(30000));
  auto out = prepare(f, gso(spec, 1448), full_offload());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].gso, GsoType::kTcpV4);
  EXPECT_EQ(out[0].gso_size, 1448);
  EXPECT_TRUE(out[0].csum_blank);
  EXPECT_EQ(out[0].data.size(), f.size());
  EXPECT_EQ(get16(out[0].data, l4_of(spec) + 16), pseudo_sum(spec, f));
}

TEST(PrepareRx, GsoPacketSegmentedForAFrontendWithoutIt) {
  FrontendFeatures v4_only = full_offload();
  v4_only.gso_tcpv6 = false;
  FrontendFeatures no_csum = full_offload();
  no_csum.csum_blank = false;
  struct Case {
    const char* what;
    int version;
    FrontendFeatures fe;
  } cases[] = {{"legacy", 4, kLegacy}, {"gso-tcpv4 only, IPv6", 6, v4_only}, {"gso but no blank checksums", 4, no_csum}};
  for (const Case& c : cases) {
    FrameSpec spec;
    spec.ip_version = c.version;
    Bytes f = build_frame(spec, payload_pattern(5000));
    auto out = prepare(f, gso(spec, 1400), c.fe);
    ASSERT_EQ(out.size(), 4u) << c.what;
    for (const RxPacket& p : out) {
      EXPECT_EQ(p.gso, GsoType::kNone) << c.what;
      EXPECT_FALSE(p.csum_blank) << c.what;
      EXPECT_LE(p.data.size(), headers_of(spec) + 1400) << c.what;
      EXPECT_TRUE(l4_checksum_verifies(spec, p.data)) << c.what;
    }
  }
}

TEST(PrepareRx, MalformedGsoIsDropped) {
  FrameSpec spec;
  Bytes f = build_frame(spec, payload_pattern(5000));
  FrameOffload wrong = gso(spec, 1448);
  wrong.gso = GsoType::kTcpV6;
  prepare(f, wrong, full_offload(), false);
  FrameOffload tiny = gso(spec, 1448);
  tiny.gso_size = 0;
  prepare(f, tiny, kLegacy, false);
  FrameSpec udp;
  udp.proto = kUdp;
  prepare(build_frame(udp, payload_pattern(5000)), gso(spec, 1448), full_offload(), false);
  // Segments of more than a page cannot go to a frontend without feature-sg.
  prepare(build_frame(spec, payload_pattern(20000)), gso(spec, 8000), kLegacy, false);
}

namespace {

using RxFront = FrontRing<netif_rx_request, netif_rx_response>;

// One rx ring page with both ends, and a fake guest: 32 pages behind grant
// refs 1000.., copies recorded.
struct RxRingFixture : ::testing::Test {
  alignas(4096) uint8_t page[4096];
  NetifRxSharedRing* shared = reinterpret_cast<NetifRxSharedRing*>(page);
  std::optional<RxFront> front;
  std::optional<NetifRxBackRing> back;
  std::map<uint32_t, Bytes> written;  // gref -> what was copied there
  std::set<uint32_t> refuse;          // grefs whose copy fails

  void SetUp() override {
    shared->init();
    front.emplace(shared);
    back.emplace(shared);
  }
  void post(unsigned n, uint16_t first_id = 0) {
    for (unsigned i = 0; i < n; ++i) {
      netif_rx_request& r = front->next_request();
      r.id = static_cast<uint16_t>(first_id + i);
      r.gref = 1000u + first_id + i;
    }
    (void)front->push_requests();
  }
  RxPut put(const RxPacket& p) {
    return put_rx_packet(*back, *shared, p, [this](uint32_t gref, std::span<const uint8_t> data) {
      if (refuse.count(gref)) return false;
      written[gref].assign(data.begin(), data.end());
      return true;
    });
  }
  std::vector<netif_rx_response> responses() {
    (void)back->push_responses();
    std::vector<netif_rx_response> out;
    while (front->unconsumed_responses()) out.push_back(front->take_response());
    return out;
  }
};

RxPacket packet_of(size_t size, GsoType gso = GsoType::kNone, bool blank = false) {
  RxPacket p;
  p.data = payload_pattern(size, 5);
  p.gso = gso;
  p.gso_size = gso == GsoType::kNone ? 0 : 1448;
  p.csum_blank = blank;
  return p;
}

}  // namespace

TEST_F(RxRingFixture, SingleSlotPacket) {
  post(4);
  ASSERT_EQ(put(packet_of(1514)), RxPut::kDelivered);
  auto rsp = responses();
  ASSERT_EQ(rsp.size(), 1u);
  EXPECT_EQ(rsp[0].id, 0);
  EXPECT_EQ(rsp[0].offset, 0);
  EXPECT_EQ(rsp[0].status, 1514);
  EXPECT_EQ(rsp[0].flags, NETRXF_data_validated);
  EXPECT_EQ(written[1000], packet_of(1514).data);
}

TEST_F(RxRingFixture, MultiSlotPacketFillsWholePagesInOrder) {
  post(8);
  RxPacket p = packet_of(10000, GsoType::kNone, true);
  ASSERT_EQ(put(p), RxPut::kDelivered);
  auto rsp = responses();
  ASSERT_EQ(rsp.size(), 3u);
  EXPECT_EQ(rsp[0].status, 4096);
  EXPECT_EQ(rsp[0].flags, NETRXF_data_validated | NETRXF_csum_blank | NETRXF_more_data);
  EXPECT_EQ(rsp[1].status, 4096);
  EXPECT_EQ(rsp[1].flags, NETRXF_more_data);
  EXPECT_EQ(rsp[2].status, 10000 - 8192);
  EXPECT_EQ(rsp[2].flags, 0);
  Bytes joined;
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(rsp[i].id, i);
    append(joined, written[1000 + i]);
  }
  EXPECT_EQ(joined, p.data);
}

TEST_F(RxRingFixture, GsoPacketPutsItsExtraSecond) {
  post(8);
  RxPacket p = packet_of(10000, GsoType::kTcpV6, true);
  ASSERT_EQ(put(p), RxPut::kDelivered);
  auto rsp = responses();
  ASSERT_EQ(rsp.size(), 4u);
  EXPECT_EQ(rsp[0].id, 0);
  EXPECT_EQ(rsp[0].status, 4096);
  EXPECT_EQ(rsp[0].flags, NETRXF_data_validated | NETRXF_csum_blank | NETRXF_extra_info | NETRXF_more_data);
  netif_extra_info extra;
  memcpy(&extra, &rsp[1], sizeof extra);
  EXPECT_EQ(extra.type, XEN_NETIF_EXTRA_TYPE_GSO);
  EXPECT_EQ(extra.flags, 0) << "no further extras";
  EXPECT_EQ(extra.u.gso.type, XEN_NETIF_GSO_TYPE_TCPV6);
  EXPECT_EQ(extra.u.gso.size, 1448);
  EXPECT_EQ(extra.u.gso.features, 0);
  EXPECT_EQ(rsp[2].id, 2) << "request 1 went to the extra";
  EXPECT_EQ(rsp[2].status, 4096);
  EXPECT_EQ(rsp[3].id, 3);
  EXPECT_EQ(rsp[3].status, 10000 - 8192);
  EXPECT_EQ(rsp[3].flags, 0);
  EXPECT_EQ(written.count(1001), 0u) << "the extra's buffer is not written";
  Bytes joined = written[1000];
  append(joined, written[1002]);
  append(joined, written[1003]);
  EXPECT_EQ(joined, p.data);
}

TEST_F(RxRingFixture, SmallGsoPacketStillTakesTwoSlots) {
  post(2);
  ASSERT_EQ(put(packet_of(1000, GsoType::kTcpV4, true)), RxPut::kDelivered);
  auto rsp = responses();
  ASSERT_EQ(rsp.size(), 2u);
  EXPECT_EQ(rsp[0].flags, NETRXF_data_validated | NETRXF_csum_blank | NETRXF_extra_info);
}

TEST_F(RxRingFixture, PacketWaitsUntilAllItsSlotsArePosted) {
  post(3);
  RxPacket p = packet_of(10000, GsoType::kTcpV4, true);  // 3 data slots + the extra
  RingIdx cons = back->req_cons();
  EXPECT_EQ(put(p), RxPut::kNoRoom);
  EXPECT_EQ(back->req_cons(), cons) << "nothing taken";
  EXPECT_TRUE(responses().empty());
  EXPECT_EQ(shared->header.req_event, shared->header.req_prod + 1) << "the next post notifies";
  post(1, 3);
  EXPECT_EQ(put(p), RxPut::kDelivered);
  EXPECT_EQ(responses().size(), 4u);
}

TEST_F(RxRingFixture, RefusedCopyIsAnErrorSlotAndTheRingStaysInStep) {
  post(8);
  refuse.insert(1001);
  EXPECT_EQ(put(packet_of(9000)), RxPut::kCopyFailed);
  auto rsp = responses();
  ASSERT_EQ(rsp.size(), 3u);
  EXPECT_EQ(rsp[0].status, 4096);
  EXPECT_EQ(rsp[1].status, NETIF_RSP_ERROR);
  EXPECT_EQ(rsp[1].flags, NETRXF_more_data);
  EXPECT_EQ(rsp[2].status, 9000 - 8192);
  ASSERT_EQ(put(packet_of(100)), RxPut::kDelivered);
  rsp = responses();
  ASSERT_EQ(rsp.size(), 1u);
  EXPECT_EQ(rsp[0].id, 3);
}

TEST_F(RxRingFixture, LargestPacketFitsEighteenSlots) {
  post(18);
  RxPacket p = packet_of(65535 + 18, GsoType::kTcpV4, true);
  ASSERT_EQ(put(p), RxPut::kDelivered);
  auto rsp = responses();
  ASSERT_EQ(rsp.size(), 18u);
  EXPECT_EQ(rsp[17].status, (65535 + 18) - 16 * 4096);
}
