// netback's transmit checks: the netif request validation matrix of issue 5.
// Requests are fed one slot at a time as the ring hands them over; a packet is
// its first request (which carries the total size), any extra-info slots, and
// the fragments NETTXF_more_data chains on.
#include <gtest/gtest.h>

#include <cstring>
#include <utility>
#include <vector>

#include "gso.h"
#include "netif_request.h"

using namespace atl::hv;

namespace {

using Step = TxAssembler::Step;

constexpr uint32_t kMaxFrame = 1514;

netif_tx_request request(uint16_t id, uint16_t size, uint16_t flags = 0, uint16_t offset = 0) {
  netif_tx_request r{};
  r.gref = 100u + id;
  r.offset = offset;
  r.flags = flags;
  r.id = id;
  r.size = size;
  return r;
}

// ABI: an extra-info slot overlays a request slot (xen/io/netif.h).
netif_tx_request as_slot(const netif_extra_info& extra) {
  netif_tx_request r{};
  std::memcpy(&r, &extra, sizeof extra);
  return r;
}

netif_tx_request gso_slot(uint8_t gso_type, uint16_t mss, bool more = false) {
  netif_extra_info e{};
  e.type = XEN_NETIF_EXTRA_TYPE_GSO;
  e.flags = more ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
  e.u.gso.size = mss;
  e.u.gso.type = gso_type;
  return as_slot(e);
}

netif_tx_request extra_slot(uint8_t type, bool more = false) {
  netif_extra_info e{};
  e.type = type;
  e.flags = more ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
  return as_slot(e);
}

// Feeds all slots, expecting kNeedMore for every one but the last, and returns
// what the last one said.
Step feed(TxAssembler& tx, const std::vector<netif_tx_request>& slots) {
  for (size_t i = 0; i + 1 < slots.size(); ++i) {
    Step s = tx.add(slots[i]);
    EXPECT_EQ(s, Step::kNeedMore) << "slot " << i << " ended the packet early";
    if (s != Step::kNeedMore) return s;
  }
  return tx.add(slots.back());
}

void expect_ids(const TxPacket& p, const std::vector<uint16_t>& ids) {
  ASSERT_EQ(p.nr_slots, ids.size());
  for (unsigned i = 0; i < p.nr_slots; ++i) EXPECT_EQ(p.ids[i], ids[i]) << "slot " << i;
}

}  // namespace

TEST(TxAssembler, SingleSlotPacketIsDone) {
  TxAssembler tx(kMaxFrame);
  EXPECT_FALSE(tx.in_progress());
  ASSERT_EQ(tx.add(request(7, 60, NETTXF_csum_blank, 128)), Step::kDone);
  const TxPacket& p = tx.packet();
  EXPECT_EQ(tx.error(), TxCheck::kOk);
  EXPECT_EQ(p.nr_fragments, 1u);
  EXPECT_EQ(p.total_size, 60u);
  EXPECT_EQ(p.flags, NETTXF_csum_blank);
  EXPECT_EQ(p.fragments[0].gref, 107u);
  EXPECT_EQ(p.fragments[0].offset, 128u);
  EXPECT_FALSE(p.gso.has_value());
  expect_ids(p, {7});
  EXPECT_FALSE(p.is_extra[0]);
  EXPECT_EQ(first_fragment_size(p), 60u);
  EXPECT_TRUE(tx.in_progress());  // until the caller has answered and reset
}

TEST(TxAssembler, SmallestFrameIsAccepted) {
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(tx.add(request(1, kMinFrame)), Step::kDone);
}

TEST(TxAssembler, LargestFrameIsAcceptedWithoutGso) {
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(feed(tx, {request(1, kMaxFrame, NETTXF_more_data), request(2, kMaxFrame - 1000)}), Step::kDone);
}

TEST(TxAssembler, MultiFragmentPacketGivesTheFirstFragmentsShare) {
  TxAssembler tx(kMaxFrame);
  ASSERT_EQ(feed(tx, {request(1, 1500, NETTXF_more_data, 64), request(2, 700, NETTXF_more_data, 0),
                      request(3, 300, 0, 2048)}),
            Step::kDone);
  const TxPacket& p = tx.packet();
  EXPECT_EQ(p.nr_fragments, 3u);
  EXPECT_EQ(p.total_size, 1500u);
  EXPECT_EQ(p.flags, NETTXF_more_data);
  EXPECT_EQ(p.fragments[1].size, 700u);
  EXPECT_EQ(p.fragments[2].offset, 2048u);
  EXPECT_EQ(first_fragment_size(p), 500u);
  expect_ids(p, {1, 2, 3});
}

TEST(TxAssembler, GsoExtraIsParsedAndItsIdAnsweredAsAnExtra) {
  for (uint8_t type : {uint8_t{XEN_NETIF_GSO_TYPE_TCPV4}, uint8_t{XEN_NETIF_GSO_TYPE_TCPV6}}) {
    TxAssembler tx(kMaxFrame);
    netif_tx_request gso = gso_slot(type, 1448);
    gso.id = 0xbeef;  // past the 8 bytes of netif_extra_info: the slot's own id
    ASSERT_EQ(feed(tx, {request(1, 3000, NETTXF_extra_info | NETTXF_more_data), gso, request(3, 2000)}), Step::kDone)
        << "gso type " << int(type);
    const TxPacket& p = tx.packet();
    ASSERT_TRUE(p.gso.has_value());
    EXPECT_EQ(p.gso->type, XEN_NETIF_EXTRA_TYPE_GSO);
    EXPECT_EQ(p.gso->u.gso.type, type);
    EXPECT_EQ(p.gso->u.gso.size, 1448u);
    EXPECT_EQ(p.nr_fragments, 2u);  // the extra is not a fragment
    EXPECT_EQ(first_fragment_size(p), 1000u);
    expect_ids(p, {1, 0xbeef, 3});
    EXPECT_FALSE(p.is_extra[0]);
    EXPECT_TRUE(p.is_extra[1]);
    EXPECT_FALSE(p.is_extra[2]);
  }
}

TEST(TxAssembler, ExtraOnASingleFragmentPacketEndsIt) {
  TxAssembler tx(kMaxFrame);
  ASSERT_EQ(feed(tx, {request(1, 100, NETTXF_extra_info), extra_slot(XEN_NETIF_EXTRA_TYPE_MCAST_ADD)}), Step::kDone);
  EXPECT_EQ(tx.packet().nr_fragments, 1u);
  EXPECT_FALSE(tx.packet().gso.has_value());
  expect_ids(tx.packet(), {1, 0});
}

TEST(TxAssembler, ChainedExtrasAreAllTaken) {
  TxAssembler tx(kMaxFrame);
  netif_tx_request e1 = gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, 536, true);
  netif_tx_request e2 = extra_slot(XEN_NETIF_EXTRA_TYPE_HASH, true);
  netif_tx_request e3 = extra_slot(XEN_NETIF_EXTRA_TYPE_MCAST_DEL);
  e1.id = 11, e2.id = 12, e3.id = 13;
  ASSERT_EQ(feed(tx, {request(10, 200, NETTXF_extra_info | NETTXF_more_data), e1, e2, e3, request(14, 100)}),
            Step::kDone);
  const TxPacket& p = tx.packet();
  expect_ids(p, {10, 11, 12, 13, 14});
  EXPECT_TRUE(p.is_extra[1] && p.is_extra[2] && p.is_extra[3]);
  EXPECT_FALSE(p.is_extra[4]);
  EXPECT_TRUE(p.gso.has_value());
  EXPECT_EQ(p.nr_fragments, 2u);
  EXPECT_EQ(first_fragment_size(p), 100u);
}

TEST(TxAssembler, BadExtras) {
  struct Case {
    const char* what;
    netif_tx_request extra;
  };
  const Case cases[] = {
      {"type none", extra_slot(XEN_NETIF_EXTRA_TYPE_NONE)},
      {"type past the last", extra_slot(XEN_NETIF_EXTRA_TYPE_MAX)},
      {"type 0xff", extra_slot(0xff)},
      {"gso of no type", gso_slot(XEN_NETIF_GSO_TYPE_NONE, 1448)},
      {"gso of unknown type", gso_slot(3, 1448)},
      {"gso with size 0", gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, 0)},
  };
  for (const Case& c : cases) {
    TxAssembler tx(kMaxFrame);
    EXPECT_EQ(feed(tx, {request(1, 100, NETTXF_extra_info), c.extra}), Step::kError) << c.what;
    EXPECT_EQ(tx.error(), TxCheck::kBadExtra) << c.what;
    EXPECT_EQ(tx.packet().nr_slots, 2u) << c.what;
  }
}

TEST(TxAssembler, DuplicateGsoIsABadExtra) {
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(feed(tx, {request(1, 100, NETTXF_extra_info), gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, 1448, true),
                      gso_slot(XEN_NETIF_GSO_TYPE_TCPV6, 1448)}),
            Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kBadExtra);
}

TEST(TxAssembler, LaterFragmentCrossingItsPage) {
  const std::pair<uint16_t, uint16_t> crossing[] = {{4000, 97}, {1, 4096}, {4096, 1}, {0xffff, 0xffff}};
  for (auto [offset, size] : crossing) {
    TxAssembler tx(kMaxFrame);
    EXPECT_EQ(feed(tx, {request(1, 1500, NETTXF_more_data), request(2, size, 0, offset)}), Step::kError)
        << offset << "+" << size;
    EXPECT_EQ(tx.error(), TxCheck::kFragmentCrossesPage) << offset << "+" << size;
  }
  // Up to the last byte of the page is fine.
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(feed(tx, {request(1, 1500, NETTXF_more_data), request(2, 96, 0, 4000)}), Step::kDone);
}

TEST(TxAssembler, FirstFragmentIsCheckedByItsOwnShareNotTheTotal) {
  // The first request's size is the whole packet; only its share lives in its page.
  TxAssembler ok(kMaxFrame);
  EXPECT_EQ(feed(ok, {request(1, 1500, NETTXF_more_data, 3596), request(2, 1000)}), Step::kDone);
  EXPECT_EQ(first_fragment_size(ok.packet()), 500u);

  TxAssembler over(kMaxFrame);
  EXPECT_EQ(feed(over, {request(1, 1500, NETTXF_more_data, 3597), request(2, 1000)}), Step::kError);
  EXPECT_EQ(over.error(), TxCheck::kFragmentCrossesPage);

  TxAssembler single(kMaxFrame);
  EXPECT_EQ(single.add(request(1, 1000, 0, 3500)), Step::kError);
  EXPECT_EQ(single.error(), TxCheck::kFragmentCrossesPage);

  // An offset past the page is refused at once, before the rest arrives.
  TxAssembler past(kMaxFrame);
  EXPECT_EQ(past.add(request(1, 100, 0, 4096)), Step::kError);
  EXPECT_EQ(past.error(), TxCheck::kFragmentCrossesPage);
}

TEST(TxAssembler, TotalShorterThanAFrame) {
  for (uint16_t size : {0, 1, 13}) {
    TxAssembler tx(kMaxFrame);
    EXPECT_EQ(tx.add(request(1, size)), Step::kError) << size;
    EXPECT_EQ(tx.error(), TxCheck::kBadTotalSize) << size;
  }
}

TEST(TxAssembler, FragmentsAddingUpToTheTotalOrMore) {
  for (uint16_t rest : {100, 101, 4000}) {
    TxAssembler tx(kMaxFrame);
    EXPECT_EQ(feed(tx, {request(1, 100, NETTXF_more_data), request(2, rest)}), Step::kError) << rest;
    EXPECT_EQ(tx.error(), TxCheck::kBadTotalSize) << rest;
  }
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(feed(tx, {request(1, 100, NETTXF_more_data), request(2, 50, NETTXF_more_data), request(3, 50)}),
            Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kBadTotalSize);
}

TEST(TxAssembler, EmptyLaterFragment) {
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(feed(tx, {request(1, 100, NETTXF_more_data), request(2, 0)}), Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kEmptyFragment);
}

TEST(TxAssembler, MaxSlotsAreAcceptedOneMoreIsTooMany) {
  std::vector<netif_tx_request> slots;
  slots.push_back(request(0, 1500, NETTXF_more_data));
  for (uint16_t i = 1; i < kMaxTxSlots; ++i)
    slots.push_back(request(i, 10, i + 1u < kMaxTxSlots ? NETTXF_more_data : 0));
  TxAssembler ok(kMaxFrame);
  ASSERT_EQ(feed(ok, slots), Step::kDone);
  EXPECT_EQ(ok.packet().nr_slots, kMaxTxSlots);
  EXPECT_EQ(first_fragment_size(ok.packet()), 1500u - 10u * (kMaxTxSlots - 1));

  // The same packet with one more fragment: the slot past the limit is not
  // part of any packet any longer, and netback disconnects the vif.
  slots.back().flags = NETTXF_more_data;
  slots.push_back(request(kMaxTxSlots, 10));
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(feed(tx, slots), Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kTooManySlots);
  EXPECT_EQ(tx.packet().nr_slots, kMaxTxSlots);
}

TEST(TxAssembler, ExtrasCountTowardsTheSlotLimit) {
  std::vector<netif_tx_request> slots;
  slots.push_back(request(0, 1500, NETTXF_more_data | NETTXF_extra_info));
  slots.push_back(extra_slot(XEN_NETIF_EXTRA_TYPE_MCAST_ADD));
  for (uint16_t i = 2; i <= kMaxTxSlots; ++i) slots.push_back(request(i, 10, NETTXF_more_data));
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(feed(tx, slots), Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kTooManySlots);
}

TEST(TxAssembler, OversizePacketNeedsGso) {
  TxAssembler plain(kMaxFrame);
  EXPECT_EQ(feed(plain, {request(1, kMaxFrame + 1, NETTXF_more_data), request(2, 1000)}), Step::kError);
  EXPECT_EQ(plain.error(), TxCheck::kTooBig);

  TxAssembler gso(kMaxFrame);
  EXPECT_EQ(feed(gso, {request(1, kMaxFrame + 1, NETTXF_more_data | NETTXF_extra_info),
                       gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, 1448), request(2, 1000)}),
            Step::kDone);

  TxAssembler big(kMaxFrame);
  EXPECT_EQ(feed(big, {request(1, 9000, NETTXF_more_data | NETTXF_extra_info), gso_slot(XEN_NETIF_GSO_TYPE_TCPV6, 1440),
                       request(2, 4096, NETTXF_more_data), request(3, 4000)}),
            Step::kDone);
  EXPECT_EQ(first_fragment_size(big.packet()), 904u);
}

TEST(TxAssembler, GsoSizeBelowTheMinimumIsABadExtra) {
  TxAssembler small(kMaxFrame);
  EXPECT_EQ(feed(small, {request(1, 3000, NETTXF_more_data | NETTXF_extra_info),
                         gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, kMinGsoSize - 1), request(2, 2000)}),
            Step::kError);
  EXPECT_EQ(small.error(), TxCheck::kBadExtra);
  expect_ids(small.packet(), {1, 0, 2});
  TxAssembler least(kMaxFrame);
  EXPECT_EQ(feed(least, {request(1, 3000, NETTXF_more_data | NETTXF_extra_info),
                         gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, kMinGsoSize), request(2, 2000)}),
            Step::kDone);
}

TEST(TxAssembler, GsoPacketOfTheLargestSizeOverEighteenSlots) {
  // 65535 bytes (the size field's limit) as a 4095-byte first fragment, the
  // GSO extra and 15 full pages: 17 slots.
  TxAssembler tx(kMaxFrame);
  std::vector<netif_tx_request> slots = {request(1, 65535, NETTXF_more_data | NETTXF_extra_info | NETTXF_csum_blank, 1),
                                         gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, 1448)};
  for (uint16_t i = 0; i < 15; ++i) slots.push_back(request(static_cast<uint16_t>(10 + i), 4096, i < 14 ? NETTXF_more_data : 0));
  ASSERT_EQ(feed(tx, slots), Step::kDone);
  EXPECT_EQ(tx.packet().nr_fragments, 16u);
  EXPECT_EQ(tx.packet().nr_slots, 17u);
  EXPECT_EQ(first_fragment_size(tx.packet()), 4095u);
}

TEST(TxAssembler, ErrorMidPacketSwallowsTheRestAndKeepsEveryId) {
  TxAssembler tx(kMaxFrame);
  // Fragment 2 is empty: the error is known there, but fragments 3 and 4 still
  // belong to the packet and must be taken off the ring and answered.
  EXPECT_EQ(tx.add(request(1, 1000, NETTXF_more_data)), Step::kNeedMore);
  EXPECT_EQ(tx.add(request(2, 0, NETTXF_more_data)), Step::kNeedMore);
  EXPECT_EQ(tx.add(request(3, 100, NETTXF_more_data)), Step::kNeedMore);
  EXPECT_EQ(tx.add(request(4, 100)), Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kEmptyFragment);  // the first violation, not a later one
  expect_ids(tx.packet(), {1, 2, 3, 4});
}

TEST(TxAssembler, ErrorInAnExtraSwallowsTheRestOfTheExtrasAndFragments) {
  TxAssembler tx(kMaxFrame);
  netif_tx_request bad = extra_slot(0x7f, true);
  netif_tx_request e2 = extra_slot(XEN_NETIF_EXTRA_TYPE_MCAST_ADD);
  bad.id = 2, e2.id = 3;
  EXPECT_EQ(tx.add(request(1, 1000, NETTXF_more_data | NETTXF_extra_info)), Step::kNeedMore);
  EXPECT_EQ(tx.add(bad), Step::kNeedMore);
  EXPECT_EQ(tx.add(e2), Step::kNeedMore);
  EXPECT_EQ(tx.add(request(4, 0, NETTXF_more_data, 4095)), Step::kNeedMore);  // would fail on its own too
  EXPECT_EQ(tx.add(request(5, 100)), Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kBadExtra);
  expect_ids(tx.packet(), {1, 2, 3, 4, 5});
  EXPECT_FALSE(tx.packet().is_extra[0]);
  EXPECT_TRUE(tx.packet().is_extra[1]);
  EXPECT_TRUE(tx.packet().is_extra[2]);  // still answered NETIF_RSP_NULL
  EXPECT_FALSE(tx.packet().is_extra[3]);
  EXPECT_FALSE(tx.packet().is_extra[4]);
}

TEST(TxAssembler, BadFirstRequestStillTakesItsExtrasAndFragments) {
  TxAssembler tx(kMaxFrame);
  netif_tx_request gso = gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, 1448);
  gso.id = 2;
  EXPECT_EQ(tx.add(request(1, 1000, NETTXF_more_data | NETTXF_extra_info, 5000)), Step::kNeedMore);
  EXPECT_EQ(tx.add(gso), Step::kNeedMore);
  EXPECT_EQ(tx.add(request(3, 100)), Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kFragmentCrossesPage);
  expect_ids(tx.packet(), {1, 2, 3});
  EXPECT_TRUE(tx.packet().is_extra[1]);
}

TEST(TxAssembler, ResetAllowsTheNextPacket) {
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(tx.add(request(1, 100, NETTXF_more_data | NETTXF_extra_info)), Step::kNeedMore);
  EXPECT_EQ(tx.add(extra_slot(0)), Step::kNeedMore);
  EXPECT_EQ(tx.add(request(3, 0)), Step::kError);
  EXPECT_TRUE(tx.in_progress());
  tx.reset();
  EXPECT_FALSE(tx.in_progress());
  EXPECT_EQ(tx.error(), TxCheck::kOk);

  ASSERT_EQ(tx.add(request(4, 60)), Step::kDone);
  EXPECT_EQ(tx.error(), TxCheck::kOk);
  expect_ids(tx.packet(), {4});
  EXPECT_FALSE(tx.packet().is_extra[1]);
  EXPECT_FALSE(tx.packet().gso.has_value());

  // A GSO packet, then a plain one: the GSO of the first does not linger.
  tx.reset();
  EXPECT_EQ(feed(tx, {request(5, 3000, NETTXF_more_data | NETTXF_extra_info), gso_slot(XEN_NETIF_GSO_TYPE_TCPV4, 1448),
                      request(6, 2000)}),
            Step::kDone);
  tx.reset();
  EXPECT_EQ(feed(tx, {request(7, 3000, NETTXF_more_data), request(8, 2000)}), Step::kError);
  EXPECT_EQ(tx.error(), TxCheck::kTooBig);
}

TEST(TxAssembler, MoreDataOnALaterRequestDoesNotStartExtras) {
  // NETTXF_extra_info means something on the first request only.
  TxAssembler tx(kMaxFrame);
  EXPECT_EQ(feed(tx, {request(1, 300, NETTXF_more_data), request(2, 100, NETTXF_extra_info)}), Step::kDone);
  EXPECT_EQ(tx.packet().nr_fragments, 2u);
}

TEST(TxCheck, EveryValueHasAName) {
  for (TxCheck c : {TxCheck::kOk, TxCheck::kTooManySlots, TxCheck::kFragmentCrossesPage, TxCheck::kBadTotalSize,
                    TxCheck::kEmptyFragment, TxCheck::kBadExtra, TxCheck::kTooBig})
    EXPECT_STRNE(to_string(c), "?");
}
