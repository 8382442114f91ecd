// The hypervisor's reactor: one epoll set, callbacks per file descriptor, and
// one-shot timers on the monotonic clock. Everything in a hypervisor process
// (domains, xenstored, backends) runs on one EventLoop thread, so handlers never
// race each other.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

namespace atl::hv {

class EventLoop {
 public:
  using FdHandler = std::function<void(uint32_t events)>;
  using TimerHandler = std::function<void()>;
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` for `events` (EPOLLIN, ...); the handler gets the ready events.
  bool add_fd(int fd, uint32_t events, FdHandler handler);
  bool modify_fd(int fd, uint32_t events);
  void remove_fd(int fd);

  // Calls `handler` once at `deadline_ns` (CLOCK_MONOTONIC), to the
  // nanosecond (epoll_pwait2). Adding and cancelling are O(log n): in a fleet
  // every domain's guest timer lives here, not in a timerfd of its own.
  TimerId add_timer(uint64_t deadline_ns, TimerHandler handler);
  void cancel_timer(TimerId id);

  // Waits for and dispatches events for at most `max_wait_ms` (-1 = until some).
  void run_once(int max_wait_ms = -1);
  // Runs until stop() is called.
  void run();
  void stop() { m_stopped = true; }
  // After handling events, run_once() polls without sleeping for up to `ns`
  // before it blocks: the next hypercall or frame usually follows within
  // microseconds, and catching it saves a sleep and a wakeup (the TCP round
  // trip to an appliance over a TAP went from ~57 to ~26-39 us at 100 us
  // here). The poll yields the CPU to anything runnable (the slirp helper,
  // the guest) and stops while disk requests are in flight (hold_busy_poll):
  // without both, a 2-CPU host lost slirp and disk throughput to it.
  void set_busy_poll(uint64_t ns) { m_busy_poll_ns = ns; }
  // Once: the next run_once() polls without sleeping for up to `ns` (a caller
  // that just woke a guest expects its answer soon).
  void poll_briefly(uint64_t ns);
  // While holds are taken (blkback, for each disk request in flight), events
  // do not start the set_busy_poll() spin: what the loop waits for then is a
  // device, and on a small host the spin takes the CPU its completion needs.
  void hold_busy_poll(int delta) { m_busy_poll_holds += delta; }
  bool stopped() const { return m_stopped; }

 private:
  int m_epoll;
  bool m_stopped = false;
  // After events, run_once() polls without sleeping for this long first.
  uint64_t m_busy_poll_ns = 0;
  uint64_t m_busy_until = 0;
  int m_busy_poll_holds = 0;
  std::unordered_map<int, std::shared_ptr<FdHandler>> m_fds;
  // Ordered by deadline, then by the order they were added.
  std::map<std::pair<uint64_t, TimerId>, TimerHandler> m_timers;
  std::unordered_map<TimerId, uint64_t> m_timer_deadlines;
  TimerId m_next_timer = 1;
};

}  // namespace atl::hv
