// SharedRing/FrontRing/BackRing on one page, with the free-running indices near
// 2^32 so every exchange crosses the wrap; and a hostile frontend's overrun.
#include <gtest/gtest.h>
#include <xen/io/blkif.h>

#include <cstdint>
#include <vector>

#include "atoll/shared_ring.h"

using namespace atl;

namespace {

using Shared = SharedRing<blkif_request, blkif_response>;
using Front = FrontRing<blkif_request, blkif_response>;
using Back = BackRing<blkif_request, blkif_response>;

// ABI: xen/io/ring.h, 64-byte header, 112-byte blkif entries → 32 slots in 4 KiB.
static_assert(sizeof(Shared) <= 4096);
static_assert(Shared::kSize == 32);
static_assert(offsetof(Shared, ring) == 64);

struct alignas(4096) Page {
  Shared ring;
};

}  // namespace

TEST(SharedRing, InitMatchesSharedRingInit) {
  Page page;
  page.ring.init();
  EXPECT_EQ(page.ring.header.req_prod, 0u);
  EXPECT_EQ(page.ring.header.rsp_prod, 0u);
  EXPECT_EQ(page.ring.header.req_event, 1u);
  EXPECT_EQ(page.ring.header.rsp_event, 1u);
}

TEST(SharedRing, RequestsAndResponsesAcrossTheIndexWrap) {
  Page page;
  page.ring.init();
  Front front(&page.ring);
  front.reset_indices(RingIdx(0xFFFFFFF0u));
  Back back(&page.ring);
  uint64_t next_id = 0, next_rsp = 0;
  // 10 rounds of varying batch sizes carry the indices past 2^32 several slots deep.
  for (unsigned round = 0; round < 10; ++round) {
    unsigned batch = 1 + (round * 7) % Front::kSize;
    ASSERT_GE(front.free_slots(), batch);
    for (unsigned i = 0; i < batch; ++i) {
      blkif_request& r = front.next_request();
      r = blkif_request{};
      r.id = next_id++;
    }
    bool notified = front.push_requests() == NotifyNeeded::kYes;
    EXPECT_TRUE(notified || round > 0);  // the first message always notifies
    EXPECT_FALSE(back.overflowed());
    ASSERT_EQ(back.unconsumed_requests(), batch);
    for (unsigned i = 0; i < batch; ++i) {
      blkif_request r = back.take_request();
      blkif_response rsp{};
      rsp.id = r.id;
      rsp.status = BLKIF_RSP_OKAY;
      back.put_response(rsp);
    }
    EXPECT_FALSE(back.final_check_for_requests());
    back.push_responses();
    ASSERT_EQ(front.unconsumed_responses(), batch);
    for (unsigned i = 0; i < batch; ++i) EXPECT_EQ(front.take_response().id, next_rsp++);
    EXPECT_FALSE(front.final_check_for_responses());
    EXPECT_TRUE(front.sane());
  }
  EXPECT_LT(front.req_prod_pvt().value(), 0x100u);  // wrapped
  EXPECT_EQ(next_rsp, next_id);
}

TEST(SharedRing, FullRingAndEventThresholds) {
  Page page;
  page.ring.init();
  Front front(&page.ring);
  front.reset_indices(RingIdx(0xFFFFFFFEu));
  Back back(&page.ring);
  for (unsigned i = 0; i < Front::kSize; ++i) front.next_request().id = i;
  EXPECT_TRUE(front.full());
  EXPECT_EQ(front.push_requests(), NotifyNeeded::kYes);
  EXPECT_EQ(back.unconsumed_requests(), Front::kSize);
  (void)back.take_request();
  back.put_response(blkif_response{});
  // The frontend has not asked for a notification since: rsp_event is still start + 1.
  EXPECT_EQ(back.push_responses(), NotifyNeeded::kYes);
  back.put_response(blkif_response{});
  (void)back.take_request();
  EXPECT_EQ(back.push_responses(), NotifyNeeded::kNo);  // no final check in between
  EXPECT_EQ(front.unconsumed_responses(), 2u);
}

TEST(SharedRing, BackendSpotsARequestIndexOverrun) {
  Page page;
  page.ring.init();
  Back back(&page.ring);
  // A hostile frontend claims a whole ring plus one of requests.
  page.ring.header.req_prod = Shared::kSize + 1;
  EXPECT_TRUE(back.overflowed());
  page.ring.header.req_prod = Shared::kSize;
  EXPECT_FALSE(back.overflowed());
  // Far behind (a "negative" distance) is an overrun too.
  page.ring.header.req_prod = 0xFFFFFFFFu;
  EXPECT_TRUE(back.overflowed());
  // Requests are never more than free response slots.
  page.ring.header.req_prod = Shared::kSize;
  EXPECT_EQ(back.unconsumed_requests(), Shared::kSize);
}

// Found by the netif-tx fuzz target: a frontend moved req_prod back behind
// requests the backend had taken but not answered (a packet half assembled).
// The old overflow test measured from the responses only and passed it, and
// unconsumed_requests() reported a full ring's worth forever, so a backend
// that answers at once (netback's drain_tx, blkback without io_uring) never
// left its loop: one guest hung the hypervisor.
TEST(SharedRing, ProducerRunBackBehindTakenRequestsHangsNoBackend) {
  Page page;
  page.ring.init();
  Back back(&page.ring);
  page.ring.header.req_prod = 3;
  ASSERT_EQ(back.unconsumed_requests(), 3u);
  back.take_request();
  back.take_request();  // taken, not answered yet
  page.ring.header.req_prod = 1;
  EXPECT_TRUE(back.overflowed());
  EXPECT_EQ(back.unconsumed_requests(), 0u);
  // A backend that answers what it takes, as drain_tx does, stops.
  unsigned taken = 0;
  while (back.unconsumed_requests() && taken < 1000) {
    back.take_request();
    back.put_response(blkif_response{});
    ++taken;
  }
  EXPECT_EQ(taken, 0u);
  // Going back to where the backend is, or ahead of it, is fine again.
  page.ring.header.req_prod = 2;
  EXPECT_FALSE(back.overflowed());
  EXPECT_EQ(back.unconsumed_requests(), 0u);
  page.ring.header.req_prod = 4;
  EXPECT_FALSE(back.overflowed());
  EXPECT_EQ(back.unconsumed_requests(), 2u);
}

TEST(SharedRing, FrontendIgnoresAnImpossibleResponseIndex) {
  Page page;
  page.ring.init();
  Front front(&page.ring);
  front.next_request().id = 1;
  front.push_requests();
  page.ring.header.rsp_prod = 5;  // more responses than requests outstanding
  EXPECT_FALSE(front.sane());
  EXPECT_EQ(front.unconsumed_responses(), 0u);
}

// Multi-page rings (blkif's ring-page-order): __RING_SIZE over 2^order pages.
TEST(SharedRing, SizeForPagesIsTheLargestPowerOfTwoThatFits) {
  EXPECT_EQ(Shared::size_for_pages(1), 32u);   // (4096 - 64) / 112 = 36
  EXPECT_EQ(Shared::size_for_pages(2), 64u);   // 72
  EXPECT_EQ(Shared::size_for_pages(4), 128u);  // 145
  EXPECT_EQ(Shared::size_for_pages(8), 256u);  // 292
  EXPECT_EQ(Shared::size_for_pages(16), 512u);  // 584
  // 512 entries of 112 bytes after the header need 57408 bytes: 15 pages hold 256.
  EXPECT_EQ(Shared::size_for_pages(15), 512u);
  EXPECT_EQ(Shared::size_for_pages(14), 256u);
}

TEST(SharedRing, SixteenPageRingAcrossTheIndexWrapUsesEverySlot) {
  constexpr size_t kPages = 16;
  const uint32_t size = Shared::size_for_pages(kPages);
  std::vector<uint8_t> memory((kPages + 1) * 4096);
  auto* sring = reinterpret_cast<Shared*>((reinterpret_cast<uintptr_t>(memory.data()) + 4095) & ~uintptr_t{4095});
  sring->init();
  Front front(sring, size);
  front.reset_indices(RingIdx(0xFFFFFF00u));
  Back back(sring, size);
  EXPECT_EQ(front.size(), 512u);
  EXPECT_EQ(front.free_slots(), 512u);
  uint64_t next_rsp = 0;
  for (unsigned round = 0; round < 3; ++round) {
    for (unsigned i = 0; i < size; ++i) front.next_request().id = round * size + i;
    EXPECT_TRUE(front.full());
    front.push_requests();
    EXPECT_FALSE(back.overflowed());
    ASSERT_EQ(back.unconsumed_requests(), size);
    for (unsigned i = 0; i < size; ++i) {
      blkif_response rsp{};
      rsp.id = back.take_request().id;
      back.put_response(rsp);
    }
    back.push_responses();
    ASSERT_EQ(front.unconsumed_responses(), size);
    for (unsigned i = 0; i < size; ++i) ASSERT_EQ(front.take_response().id, next_rsp++);
  }
  // The last slot lies on the 14th page, far past the one-page ring[] array.
  EXPECT_GT(reinterpret_cast<uint8_t*>(&sring->entry(size - 1)) - reinterpret_cast<uint8_t*>(sring), 13 * 4096);
  // One request more than the ring holds is an overrun on the backend side.
  sring->header.req_prod = (back.rsp_prod_pvt() + size + 1).value();
  EXPECT_TRUE(back.overflowed());
}
