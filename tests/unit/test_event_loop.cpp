// The event loop's timers (hypervisor/event_loop.h): every guest's timer in a
// fleet lives here, so they run in deadline order, never early, and cancelling
// one (of thousands) leaves the others alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "clock.h"
#include "event_loop.h"

using namespace atl::hv;

namespace {

// Turns the loop until `done` or a generous bound of turns.
template <typename Done>
void run_until(EventLoop& loop, Done done) {
  for (int i = 0; i < 100000 && !done(); ++i) loop.run_once(100);
}

}  // namespace

TEST(EventLoopTimers, RunInDeadlineOrderAndNeverEarly) {
  EventLoop loop;
  const uint64_t base = monotonic_ns() + 2'000'000;
  std::vector<int> order;
  std::vector<uint64_t> fired_at(4);
  // Added out of order; two share a deadline and keep the order they were added in.
  const uint64_t deadline[] = {base + 300'000, base, base + 100'000, base + 100'000};
  for (int i = 0; i < 4; ++i)
    loop.add_timer(deadline[i], [&, i] {
      order.push_back(i);
      fired_at[i] = monotonic_ns();
    });
  run_until(loop, [&] { return order.size() == 4; });
  ASSERT_EQ(order, (std::vector<int>{1, 2, 3, 0}));
  for (int i = 0; i < 4; ++i) EXPECT_GE(fired_at[i], deadline[i]) << "timer " << i << " ran early";
}

TEST(EventLoopTimers, CancelledTimersNeverRunAndOthersDo) {
  EventLoop loop;
  const uint64_t now = monotonic_ns();
  std::vector<bool> ran(5000, false);
  std::vector<EventLoop::TimerId> ids;
  for (size_t i = 0; i < ran.size(); ++i) ids.push_back(loop.add_timer(now + (i % 7) * 1000, [&, i] { ran[i] = true; }));
  for (size_t i = 0; i < ids.size(); i += 2) loop.cancel_timer(ids[i]);
  loop.cancel_timer(ids[0]);  // twice: nothing happens
  size_t expected = ran.size() / 2;
  run_until(loop, [&] { return static_cast<size_t>(std::count(ran.begin(), ran.end(), true)) == expected; });
  for (size_t i = 0; i < ran.size(); ++i) EXPECT_EQ(ran[i], i % 2 == 1) << "timer " << i;
}

TEST(EventLoopTimers, ATimerMayCancelAnotherDueInTheSameTurn) {
  EventLoop loop;
  const uint64_t now = monotonic_ns();
  bool second_ran = false;
  EventLoop::TimerId second = 0;
  loop.add_timer(now, [&] { loop.cancel_timer(second); });
  second = loop.add_timer(now + 1, [&] { second_ran = true; });
  bool sentinel = false;
  loop.add_timer(now + 2, [&] { sentinel = true; });
  run_until(loop, [&] { return sentinel; });
  EXPECT_TRUE(sentinel);
  EXPECT_FALSE(second_ran);
}

TEST(EventLoopTimers, CancellingARunTimerIsHarmless) {
  EventLoop loop;
  int runs = 0;
  auto id = loop.add_timer(monotonic_ns(), [&] { ++runs; });
  run_until(loop, [&] { return runs == 1; });
  loop.cancel_timer(id);
  loop.add_timer(monotonic_ns(), [&] { ++runs; });
  run_until(loop, [&] { return runs == 2; });
  EXPECT_EQ(runs, 2);
}
