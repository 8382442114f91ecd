// The hypervisor's per-domain event-channel table: allocation, each kind of
// binding, interdomain connection and teardown, and exhaustion.
#include <gtest/gtest.h>

#include <set>
#include <xen/xen.h>

#include "evtchn_table.h"

namespace atl::hv {
namespace {

constexpr DomId kDom1{1};
constexpr DomId kDom2{2};
constexpr DomId kDom3{3};

EvtchnPort must(Result<EvtchnPort> r) {
  EXPECT_TRUE(r.ok()) << "errno " << (r.ok() ? 0 : to_int(r.error()));
  return r.ok() ? r.value() : EvtchnPort(0);
}

TEST(EvtchnTable, PortZeroIsReserved) {
  EvtchnTable t(kDom1);
  EXPECT_EQ(t.lookup(EvtchnPort(0)), nullptr);
  EXPECT_EQ(t.open_count(), 0u);
  EXPECT_EQ(t.self(), kDom1);
  EvtchnPort p = must(t.alloc_unbound(kDom2));
  EXPECT_EQ(p, EvtchnPort(1)) << "the first allocation is port 1, never 0";
  auto r = t.close(EvtchnPort(0), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kInval);
  EXPECT_EQ(t.lookup(EvtchnPort(0)), nullptr);
}

TEST(EvtchnTable, AllocUnboundRecordsWhoMayBind) {
  EvtchnTable t(kDom1);
  EvtchnPort p = must(t.alloc_unbound(kDom2));
  const Channel* c = t.lookup(p);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->state, ChannelState::kUnbound);
  EXPECT_EQ(c->remote_domid, kDom2.value());
  EXPECT_EQ(t.open_count(), 1u);
  EvtchnPort q = must(t.alloc_unbound(kDom3));
  EXPECT_NE(p, q);
  EXPECT_EQ(t.open_count(), 2u);
}

TEST(EvtchnTable, BindVirq) {
  EvtchnTable t(kDom1);
  EXPECT_FALSE(t.virq_port(VIRQ_TIMER).has_value());
  EvtchnPort p = must(t.bind_virq(VIRQ_TIMER, 0));
  const Channel* c = t.lookup(p);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->state, ChannelState::kVirq);
  EXPECT_EQ(c->virq, uint32_t{VIRQ_TIMER});
  ASSERT_TRUE(t.virq_port(VIRQ_TIMER).has_value());
  EXPECT_EQ(*t.virq_port(VIRQ_TIMER), p);
  EXPECT_FALSE(t.virq_port(VIRQ_TIMER + 1).has_value());
}

TEST(EvtchnTable, BindVirqTwiceIsExist) {
  EvtchnTable t(kDom1);
  EvtchnPort p = must(t.bind_virq(VIRQ_TIMER, 0));
  auto again = t.bind_virq(VIRQ_TIMER, 0);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error(), Errno::kExist);
  EXPECT_EQ(t.open_count(), 1u);
  EXPECT_EQ(*t.virq_port(VIRQ_TIMER), p);
}

TEST(EvtchnTable, BindVirqOutOfRangeIsInval) {
  EvtchnTable t(kDom1);
  for (uint32_t virq : {uint32_t{NR_VIRQS}, uint32_t{NR_VIRQS + 1}, UINT32_MAX}) {
    auto r = t.bind_virq(virq, 0);
    ASSERT_FALSE(r.ok()) << virq;
    EXPECT_EQ(r.error(), Errno::kInval) << virq;
    EXPECT_FALSE(t.virq_port(virq).has_value());
  }
  EXPECT_TRUE(t.bind_virq(NR_VIRQS - 1, 0).ok()) << "the last virq is valid";
  EXPECT_EQ(t.open_count(), 1u);
}

TEST(EvtchnTable, BindVirqOnOtherVcpuIsNoEnt) {
  EvtchnTable t(kDom1);
  auto r = t.bind_virq(VIRQ_TIMER, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kNoEnt);
  EXPECT_EQ(t.open_count(), 0u);
  EXPECT_FALSE(t.virq_port(VIRQ_TIMER).has_value());
}

TEST(EvtchnTable, ClosingVirqAllowsRebinding) {
  EvtchnTable t(kDom1);
  EvtchnPort p = must(t.bind_virq(VIRQ_TIMER, 0));
  ASSERT_TRUE(t.close(p, nullptr).ok());
  EXPECT_FALSE(t.virq_port(VIRQ_TIMER).has_value());
  EXPECT_EQ(t.lookup(p), nullptr);
  EvtchnPort q = must(t.bind_virq(VIRQ_TIMER, 0));
  EXPECT_EQ(q, p) << "the freed port is reused";
  EXPECT_EQ(*t.virq_port(VIRQ_TIMER), q);
}

TEST(EvtchnTable, BindIpi) {
  EvtchnTable t(kDom1);
  EvtchnPort p = must(t.bind_ipi(0));
  const Channel* c = t.lookup(p);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->state, ChannelState::kIpi);
  auto bad = t.bind_ipi(1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), Errno::kNoEnt);
  EXPECT_EQ(t.open_count(), 1u);
}

TEST(EvtchnTable, LoopbackInterdomain) {
  EvtchnTable t(kDom1);
  EvtchnPort a = must(t.alloc_unbound(kDom1));
  EvtchnPort b = must(t.bind_interdomain(t, a));
  EXPECT_NE(a, b);
  const Channel* ca = t.lookup(a);
  const Channel* cb = t.lookup(b);
  ASSERT_NE(ca, nullptr);
  ASSERT_NE(cb, nullptr);
  EXPECT_EQ(ca->state, ChannelState::kInterdomain);
  EXPECT_EQ(cb->state, ChannelState::kInterdomain);
  EXPECT_EQ(ca->remote_port, b.value());
  EXPECT_EQ(cb->remote_port, a.value());
  EXPECT_EQ(ca->remote_domid, kDom1.value());
  EXPECT_EQ(cb->remote_domid, kDom1.value());
}

// bind_interdomain grows the vector it holds a reference into when both ends are in
// one table; binding with a full backing store must not write through a stale reference.
TEST(EvtchnTable, LoopbackInterdomainWhileTableGrows) {
  EvtchnTable t(kDom1);
  std::vector<EvtchnPort> unbound;
  for (int i = 0; i < 40; ++i) unbound.push_back(must(t.alloc_unbound(kDom1)));
  for (EvtchnPort a : unbound) {
    EvtchnPort b = must(t.bind_interdomain(t, a));
    const Channel* ca = t.lookup(a);
    ASSERT_NE(ca, nullptr);
    ASSERT_EQ(ca->state, ChannelState::kInterdomain) << "port " << a.value();
    ASSERT_EQ(ca->remote_port, b.value());
    ASSERT_EQ(t.lookup(b)->remote_port, a.value());
  }
  EXPECT_EQ(t.open_count(), 80u);
}

TEST(EvtchnTable, LoopbackCloseFallsBackToUnbound) {
  EvtchnTable t(kDom1);
  EvtchnPort a = must(t.alloc_unbound(kDom1));
  EvtchnPort b = must(t.bind_interdomain(t, a));
  ASSERT_TRUE(t.close(b, &t).ok());
  EXPECT_EQ(t.lookup(b), nullptr);
  const Channel* ca = t.lookup(a);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(ca->state, ChannelState::kUnbound);
  EXPECT_EQ(ca->remote_domid, kDom1.value());
  // It can be bound again.
  EvtchnPort c = must(t.bind_interdomain(t, a));
  EXPECT_EQ(t.lookup(a)->remote_port, c.value());
}

TEST(EvtchnTable, InterdomainBetweenTwoTables) {
  EvtchnTable back(kDom1);
  EvtchnTable front(kDom2);
  EvtchnPort listen = must(back.alloc_unbound(kDom2));
  EvtchnPort local = must(front.bind_interdomain(back, listen));
  const Channel* cf = front.lookup(local);
  const Channel* cb = back.lookup(listen);
  ASSERT_NE(cf, nullptr);
  ASSERT_NE(cb, nullptr);
  EXPECT_EQ(cf->state, ChannelState::kInterdomain);
  EXPECT_EQ(cf->remote_domid, kDom1.value());
  EXPECT_EQ(cf->remote_port, listen.value());
  EXPECT_EQ(cb->state, ChannelState::kInterdomain);
  EXPECT_EQ(cb->remote_domid, kDom2.value());
  EXPECT_EQ(cb->remote_port, local.value());
}

TEST(EvtchnTable, InterdomainToPortWaitingForSomeoneElseIsInval) {
  EvtchnTable back(kDom1);
  EvtchnTable front(kDom2);
  EvtchnPort listen = must(back.alloc_unbound(kDom3));
  auto r = front.bind_interdomain(back, listen);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kInval);
  EXPECT_EQ(front.open_count(), 0u);
  EXPECT_EQ(back.lookup(listen)->state, ChannelState::kUnbound);
}

TEST(EvtchnTable, InterdomainToNonUnboundPortIsInval) {
  EvtchnTable back(kDom1);
  EvtchnTable front(kDom2);
  EvtchnPort virq = must(back.bind_virq(VIRQ_TIMER, 0));
  EvtchnPort ipi = must(back.bind_ipi(0));
  for (EvtchnPort p : {EvtchnPort(0), virq, ipi, EvtchnPort(3), EvtchnPort(100000)}) {
    auto r = front.bind_interdomain(back, p);
    ASSERT_FALSE(r.ok()) << p.value();
    EXPECT_EQ(r.error(), Errno::kInval) << p.value();
  }
  EXPECT_EQ(front.open_count(), 0u);
}

TEST(EvtchnTable, InterdomainToAlreadyBoundPortIsInval) {
  EvtchnTable back(kDom1);
  EvtchnTable front(kDom2);
  EvtchnPort listen = must(back.alloc_unbound(kDom2));
  EvtchnPort first = must(front.bind_interdomain(back, listen));
  auto second = front.bind_interdomain(back, listen);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error(), Errno::kInval);
  EXPECT_EQ(back.lookup(listen)->remote_port, first.value());
  EXPECT_EQ(front.open_count(), 1u);
}

TEST(EvtchnTable, ClosingOneEndLeavesPeerUnbound) {
  EvtchnTable back(kDom1);
  EvtchnTable front(kDom2);
  EvtchnPort listen = must(back.alloc_unbound(kDom2));
  EvtchnPort local = must(front.bind_interdomain(back, listen));
  ASSERT_TRUE(front.close(local, &back).ok());
  EXPECT_EQ(front.lookup(local), nullptr);
  const Channel* cb = back.lookup(listen);
  ASSERT_NE(cb, nullptr);
  EXPECT_EQ(cb->state, ChannelState::kUnbound);
  EXPECT_EQ(cb->remote_domid, kDom2.value()) << "the peer waits for the same domain again";
  EXPECT_EQ(cb->remote_port, 0u);
  // The frontend can reconnect.
  EvtchnPort again = must(front.bind_interdomain(back, listen));
  EXPECT_EQ(back.lookup(listen)->remote_port, again.value());
}

TEST(EvtchnTable, ClosingWithoutPeerLeavesPeerUntouched) {
  EvtchnTable back(kDom1);
  EvtchnTable front(kDom2);
  EvtchnPort listen = must(back.alloc_unbound(kDom2));
  EvtchnPort local = must(front.bind_interdomain(back, listen));
  ASSERT_TRUE(front.close(local, nullptr).ok());
  EXPECT_EQ(front.lookup(local), nullptr);
  EXPECT_EQ(back.lookup(listen)->state, ChannelState::kInterdomain);
}

TEST(EvtchnTable, CloseOfFreeOrOutOfRangePortIsInval) {
  EvtchnTable t(kDom1);
  EvtchnPort p = must(t.bind_ipi(0));
  ASSERT_TRUE(t.close(p, nullptr).ok());
  for (EvtchnPort bad : {p, EvtchnPort(2), EvtchnPort(4096), EvtchnPort(UINT32_MAX)}) {
    auto r = t.close(bad, nullptr);
    ASSERT_FALSE(r.ok()) << bad.value();
    EXPECT_EQ(r.error(), Errno::kInval) << bad.value();
  }
}

TEST(EvtchnTable, LookupOfClosedOrOutOfRangePortIsNull) {
  EvtchnTable t(kDom1);
  EvtchnPort a = must(t.bind_ipi(0));
  EvtchnPort b = must(t.bind_ipi(0));
  ASSERT_TRUE(t.close(a, nullptr).ok());
  EXPECT_EQ(t.lookup(a), nullptr);
  EXPECT_NE(t.lookup(b), nullptr);
  EXPECT_EQ(t.lookup(EvtchnPort(b.value() + 1)), nullptr);
  EXPECT_EQ(t.lookup(EvtchnPort(4095)), nullptr);
  EXPECT_EQ(t.lookup(EvtchnPort(4096)), nullptr);
  EXPECT_EQ(t.lookup(EvtchnPort(UINT32_MAX)), nullptr);
  EXPECT_EQ(t.open_count(), 1u);
}

TEST(EvtchnTable, ExhaustionAtMaxPortsIsNoSpc) {
  constexpr unsigned kMax = 8;
  EvtchnTable t(kDom1, kMax);
  std::set<uint32_t> ports;
  for (unsigned i = 1; i < kMax; ++i) {
    EvtchnPort p = must(t.bind_ipi(0));
    EXPECT_LT(p.value(), kMax);
    EXPECT_NE(p.value(), 0u);
    ports.insert(p.value());
  }
  EXPECT_EQ(ports.size(), kMax - 1) << "every port is distinct";
  for (auto r : {t.bind_ipi(0), t.alloc_unbound(kDom2), t.bind_virq(VIRQ_TIMER, 0)}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Errno::kNoSpc);
  }
  EXPECT_FALSE(t.virq_port(VIRQ_TIMER).has_value()) << "a failed bind_virq must not record the virq";
  // Freeing one port makes exactly one more allocation possible.
  ASSERT_TRUE(t.close(EvtchnPort(4), nullptr).ok());
  EXPECT_EQ(must(t.alloc_unbound(kDom2)), EvtchnPort(4));
  auto full = t.alloc_unbound(kDom2);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error(), Errno::kNoSpc);
}

TEST(EvtchnTable, InterdomainBindWhenFullIsNoSpcAndPeerUntouched) {
  EvtchnTable back(kDom1);
  EvtchnTable front(kDom2, 1);  // only the reserved port 0
  EvtchnPort listen = must(back.alloc_unbound(kDom2));
  auto r = front.bind_interdomain(back, listen);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kNoSpc);
  EXPECT_EQ(back.lookup(listen)->state, ChannelState::kUnbound);
}

TEST(EvtchnTable, DefaultLimitIsTheTwoLevelAbi) {
  EvtchnTable t(kDom1, 100000);  // clamped to 4096
  unsigned allocated = 0;
  while (t.alloc_unbound(kDom2).ok()) ++allocated;
  EXPECT_EQ(allocated, EvtchnTable::kMaxPorts - 1);
  EXPECT_EQ(t.open_count(), EvtchnTable::kMaxPorts - 1);
  EXPECT_NE(t.lookup(EvtchnPort(4095)), nullptr);
}

}  // namespace
}  // namespace atl::hv
