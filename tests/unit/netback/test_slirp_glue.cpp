// atoll-slirp's glue between libslirp and poll(): event translation and timers.
#include <gtest/gtest.h>

#include "slirp_glue.h"

using namespace atl::slirp;

TEST(SlirpGlue, EventsBothWays) {
  EXPECT_EQ(to_poll_events(SLIRP_POLL_IN), POLLIN);
  EXPECT_EQ(to_poll_events(SLIRP_POLL_OUT | SLIRP_POLL_PRI), POLLOUT | POLLPRI);
  EXPECT_EQ(to_poll_events(0), 0);
  EXPECT_EQ(to_slirp_events(POLLIN | POLLHUP), SLIRP_POLL_IN | SLIRP_POLL_HUP);
  EXPECT_EQ(to_slirp_events(POLLERR), SLIRP_POLL_ERR);
  EXPECT_EQ(to_slirp_events(POLLOUT | POLLPRI), SLIRP_POLL_OUT | SLIRP_POLL_PRI);
  EXPECT_EQ(to_slirp_events(POLLNVAL), 0);
}

namespace {
struct Counter {
  int fired = 0;
};
void count(void* c) { ++static_cast<Counter*>(c)->fired; }
}  // namespace

TEST(SlirpGlue, TimersFireOnceWhenDue) {
  TimerList list;
  Counter c;
  auto* t = list.create(count, &c);
  EXPECT_EQ(list.next_timeout(100, 5000), 5000u);  // not armed: no wake-up
  TimerList::arm(t, 150);
  EXPECT_EQ(list.next_timeout(100, 5000), 50u);
  EXPECT_EQ(list.next_timeout(100, 10), 10u);
  list.run_due(149);
  EXPECT_EQ(c.fired, 0);
  list.run_due(150);
  EXPECT_EQ(c.fired, 1);
  list.run_due(1000);  // disarmed after firing
  EXPECT_EQ(c.fired, 1);
  EXPECT_EQ(list.next_timeout(2000, 7), 7u);
  TimerList::arm(t, 10);
  EXPECT_EQ(list.next_timeout(2000, 7), 0u);  // overdue: wake at once
}

namespace {
struct Chain {
  TimerList* list;
  TimerList::Timer* victim;
  int fired = 0;
};
void destroy_other(void* p) {
  auto* c = static_cast<Chain*>(p);
  ++c->fired;
  c->list->destroy(c->victim);
}
void rearm_self(void* p) {
  auto* c = static_cast<Chain*>(p);
  ++c->fired;
  TimerList::arm(c->victim, 500);
}
}  // namespace

TEST(SlirpGlue, CallbackMayDestroyAnotherDueTimer) {
  TimerList list;
  Chain chain{&list, nullptr};
  Counter other;
  auto* first = list.create(destroy_other, &chain);
  chain.victim = list.create(count, &other);
  TimerList::arm(first, 10);
  TimerList::arm(chain.victim, 10);
  list.run_due(10);
  EXPECT_EQ(chain.fired, 1);
  EXPECT_EQ(other.fired, 0);  // destroyed before its turn: never called
  EXPECT_EQ(list.size(), 1u);
}

TEST(SlirpGlue, CallbackMayRearm) {
  TimerList list;
  Chain chain{&list, nullptr};
  chain.victim = list.create(rearm_self, &chain);
  TimerList::arm(chain.victim, 10);
  list.run_due(10);
  EXPECT_EQ(chain.fired, 1);
  EXPECT_EQ(list.next_timeout(10, 10000), 490u);
}
