// The 2-level event-channel bitmaps on a zeroed shared_info, driven from both
// sides: set_pending as the hypervisor does, mask/unmask/consume as the guest does.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "atoll/evtchn_bits.h"

namespace atl::evtchn_bits {
namespace {

static_assert(kBitsPerWord == 64);
static_assert(kMaxPorts == 4096);

class EvtchnBits : public ::testing::Test {
 protected:
  // shared_info is a page; keep it off the stack, zeroed as Xen hands it out.
  std::unique_ptr<shared_info> m_shared = std::make_unique<shared_info>();
  shared_info* s = m_shared.get();
  vcpu_info* v = &m_shared->vcpu_info[0];

  std::vector<unsigned> consume_all() {
    std::vector<unsigned> seen;
    unsigned n = consume(s, v, [&](unsigned port) { seen.push_back(port); });
    EXPECT_EQ(n, seen.size()) << "consume's count must match the handler calls";
    return seen;
  }
};

TEST_F(EvtchnBits, StartsClear) {
  for (unsigned p = 0; p < kMaxPorts; ++p) {
    ASSERT_FALSE(is_pending(s, p));
    ASSERT_FALSE(is_masked(s, p));
  }
  EXPECT_EQ(v->evtchn_upcall_pending, 0);
  EXPECT_EQ(v->evtchn_pending_sel, 0u);
  EXPECT_TRUE(consume_all().empty());
}

TEST_F(EvtchnBits, SetPendingKicksOnlyOnUpcallTransition) {
  EXPECT_EQ(set_pending(s, v, 5), Kick::kVcpu);
  EXPECT_TRUE(is_pending(s, 5));
  EXPECT_EQ(v->evtchn_pending_sel, 1u);
  EXPECT_EQ(v->evtchn_upcall_pending, 1);
  // Same port again: already pending, nothing to do.
  EXPECT_EQ(set_pending(s, v, 5), Kick::kNone);
  // Another port in the same word: selector already set.
  EXPECT_EQ(set_pending(s, v, 6), Kick::kNone);
  // A port in a different word: selector bit new, but upcall already raised.
  EXPECT_EQ(set_pending(s, v, 64 + 1), Kick::kNone);
  EXPECT_EQ(v->evtchn_pending_sel, 0b11u);
  EXPECT_EQ(v->evtchn_upcall_pending, 1);
}

TEST_F(EvtchnBits, SetPendingAfterConsumeKicksAgain) {
  EXPECT_EQ(set_pending(s, v, 9), Kick::kVcpu);
  EXPECT_EQ(consume_all(), std::vector<unsigned>{9});
  EXPECT_EQ(v->evtchn_upcall_pending, 0);
  EXPECT_EQ(set_pending(s, v, 9), Kick::kVcpu);
}

TEST_F(EvtchnBits, SetPendingWithUpcallAlreadyRaisedDoesNotKick) {
  // The guest has not yet cleared the flag from an earlier event in another word.
  v->evtchn_upcall_pending = 1;
  EXPECT_EQ(set_pending(s, v, 200), Kick::kNone);
  EXPECT_TRUE(is_pending(s, 200));
  EXPECT_EQ(v->evtchn_pending_sel, xen_ulong_t{1} << 3);
}

TEST_F(EvtchnBits, MaskedPortIsPendingButRaisesNothing) {
  mask(s, 7);
  EXPECT_TRUE(is_masked(s, 7));
  EXPECT_EQ(set_pending(s, v, 7), Kick::kNone);
  EXPECT_TRUE(is_pending(s, 7));
  EXPECT_EQ(v->evtchn_pending_sel, 0u);
  EXPECT_EQ(v->evtchn_upcall_pending, 0);
}

TEST_F(EvtchnBits, UnmaskOfPendingPortReRaises) {
  mask(s, 130);
  ASSERT_EQ(set_pending(s, v, 130), Kick::kNone);
  EXPECT_EQ(unmask(s, v, 130), Kick::kVcpu);
  EXPECT_FALSE(is_masked(s, 130));
  EXPECT_TRUE(is_pending(s, 130));
  EXPECT_EQ(v->evtchn_pending_sel, xen_ulong_t{1} << 2);
  EXPECT_EQ(v->evtchn_upcall_pending, 1);
  EXPECT_EQ(consume_all(), std::vector<unsigned>{130});
}

TEST_F(EvtchnBits, UnmaskOfIdlePortDoesNothing) {
  mask(s, 3);
  EXPECT_EQ(unmask(s, v, 3), Kick::kNone);
  EXPECT_FALSE(is_masked(s, 3));
  EXPECT_EQ(v->evtchn_pending_sel, 0u);
  EXPECT_EQ(v->evtchn_upcall_pending, 0);
}

TEST_F(EvtchnBits, UnmaskOfUnmaskedPendingPortDoesNotKickTwice) {
  ASSERT_EQ(set_pending(s, v, 3), Kick::kVcpu);
  // Not masked: there is nothing to re-raise, the first kick already delivered it.
  EXPECT_EQ(unmask(s, v, 3), Kick::kNone);
  EXPECT_TRUE(is_pending(s, 3));
}

TEST_F(EvtchnBits, UnmaskWithUpcallAlreadyPendingDoesNotKick) {
  mask(s, 70);
  set_pending(s, v, 70);
  ASSERT_EQ(set_pending(s, v, 1), Kick::kVcpu);
  EXPECT_EQ(unmask(s, v, 70), Kick::kNone);
  EXPECT_EQ(v->evtchn_pending_sel, 0b11u) << "the selector bit is still raised for word 1";
  EXPECT_EQ(consume_all(), (std::vector<unsigned>{1, 70}));
}

TEST_F(EvtchnBits, ClearPendingAndMaskAreIdempotent) {
  set_pending(s, v, 11);
  clear_pending(s, 11);
  EXPECT_FALSE(is_pending(s, 11));
  clear_pending(s, 11);
  EXPECT_FALSE(is_pending(s, 11));
  mask(s, 11);
  mask(s, 11);
  EXPECT_TRUE(is_masked(s, 11));
  EXPECT_FALSE(is_masked(s, 10));
  EXPECT_FALSE(is_masked(s, 12));
}

TEST_F(EvtchnBits, ConsumeCallsHandlerOncePerPortInOrder) {
  for (unsigned p : {2u, 1u, 63u, 64u, 4000u}) set_pending(s, v, p);
  EXPECT_EQ(consume_all(), (std::vector<unsigned>{1, 2, 63, 64, 4000}));
  for (unsigned p : {1u, 2u, 63u, 64u, 4000u}) EXPECT_FALSE(is_pending(s, p)) << p;
  EXPECT_EQ(v->evtchn_pending_sel, 0u);
  EXPECT_EQ(v->evtchn_upcall_pending, 0);
  // A second scan finds nothing.
  EXPECT_TRUE(consume_all().empty());
}

TEST_F(EvtchnBits, ConsumeSkipsMaskedPortsAndLeavesThemPending) {
  mask(s, 5);
  set_pending(s, v, 5);
  set_pending(s, v, 6);
  EXPECT_EQ(consume_all(), std::vector<unsigned>{6});
  EXPECT_TRUE(is_pending(s, 5));
  EXPECT_FALSE(is_pending(s, 6));
  // Unmasking delivers it later.
  EXPECT_EQ(unmask(s, v, 5), Kick::kVcpu);
  EXPECT_EQ(consume_all(), std::vector<unsigned>{5});
}

TEST_F(EvtchnBits, ConsumeIgnoresWordsWithoutSelectorBit) {
  // Pending set behind the selector's back (as for a masked port): the scan only
  // looks at selected words.
  mask(s, 300);
  set_pending(s, v, 300);
  s->evtchn_mask[300 / 64] = 0;
  EXPECT_TRUE(consume_all().empty());
  EXPECT_TRUE(is_pending(s, 300));
}

TEST_F(EvtchnBits, FirstAndLastPorts) {
  EXPECT_EQ(set_pending(s, v, 0), Kick::kVcpu);
  EXPECT_EQ(set_pending(s, v, 4095), Kick::kNone);
  EXPECT_EQ(s->evtchn_pending[0], xen_ulong_t{1});
  EXPECT_EQ(s->evtchn_pending[63], xen_ulong_t{1} << 63);
  EXPECT_EQ(v->evtchn_pending_sel, (xen_ulong_t{1} << 63) | 1);
  EXPECT_EQ(consume_all(), (std::vector<unsigned>{0, 4095}));
  EXPECT_EQ(s->evtchn_pending[0], 0u);
  EXPECT_EQ(s->evtchn_pending[63], 0u);
}

TEST_F(EvtchnBits, LastPortMaskedThenUnmasked) {
  mask(s, 4095);
  EXPECT_EQ(s->evtchn_mask[63], xen_ulong_t{1} << 63);
  EXPECT_EQ(set_pending(s, v, 4095), Kick::kNone);
  EXPECT_TRUE(consume_all().empty());
  EXPECT_EQ(unmask(s, v, 4095), Kick::kVcpu);
  EXPECT_EQ(v->evtchn_pending_sel, xen_ulong_t{1} << 63);
  EXPECT_EQ(consume_all(), std::vector<unsigned>{4095});
}

TEST_F(EvtchnBits, EveryPortInAFullWord) {
  for (unsigned p = 64 * 10; p < 64 * 11; ++p) set_pending(s, v, p);
  EXPECT_EQ(s->evtchn_pending[10], ~xen_ulong_t{0});
  std::vector<unsigned> seen = consume_all();
  ASSERT_EQ(seen.size(), 64u);
  for (unsigned i = 0; i < 64; ++i) EXPECT_EQ(seen[i], 640 + i);
}

TEST_F(EvtchnBits, EventRaisedDuringScanRaisesUpcallAgain) {
  set_pending(s, v, 1);
  Kick during = Kick::kNone;
  std::vector<unsigned> seen;
  consume(s, v, [&](unsigned port) {
    seen.push_back(port);
    if (port == 1) during = set_pending(s, v, 1);  // the same port fires again mid-scan
  });
  EXPECT_EQ(seen, std::vector<unsigned>{1});
  EXPECT_EQ(during, Kick::kVcpu) << "the upcall flag was cleared before the scan, so the new event must kick";
  EXPECT_TRUE(is_pending(s, 1));
  EXPECT_EQ(consume_all(), std::vector<unsigned>{1});
}

}  // namespace
}  // namespace atl::evtchn_bits
