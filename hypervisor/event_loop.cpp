#include "event_loop.h"

#include <sched.h>

#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

#include "clock.h"

namespace atl::hv {

EventLoop::EventLoop() : m_epoll(epoll_create1(EPOLL_CLOEXEC)) {}
EventLoop::~EventLoop() { close(m_epoll); }

bool EventLoop::add_fd(int fd, uint32_t events, FdHandler handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev) != 0) return false;
  m_fds[fd] = std::make_shared<FdHandler>(std::move(handler));
  return true;
}

bool EventLoop::modify_fd(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  return epoll_ctl(m_epoll, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove_fd(int fd) {
  epoll_ctl(m_epoll, EPOLL_CTL_DEL, fd, nullptr);
  m_fds.erase(fd);
}

EventLoop::TimerId EventLoop::add_timer(uint64_t deadline_ns, TimerHandler handler) {
  TimerId id = m_next_timer++;
  m_timers.emplace(std::make_pair(deadline_ns, id), std::move(handler));
  m_timer_deadlines.emplace(id, deadline_ns);
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  auto it = m_timer_deadlines.find(id);
  if (it == m_timer_deadlines.end()) return;  // already run
  m_timers.erase(std::make_pair(it->second, id));
  m_timer_deadlines.erase(it);
}

void EventLoop::run_once(int max_wait_ms) {
  // In nanoseconds, -1 = none: a guest's timer is due to the microsecond.
  int64_t timeout = max_wait_ms < 0 ? -1 : int64_t{max_wait_ms} * 1000000;
  if (!m_timers.empty()) {
    uint64_t now = monotonic_ns();
    uint64_t first = m_timers.begin()->first.first;
    int64_t until = first <= now ? 0 : static_cast<int64_t>(first - now);
    if (timeout < 0 || until < timeout) timeout = until;
  }
  epoll_event events[32];
  int n = 0;
  // Busy-poll briefly after activity: a guest that just got an answer
  // usually makes its next hypercall (or a peer its next request) within
  // microseconds, and catching it here saves a sleep and a wakeup.
  while (timeout != 0 && m_busy_poll_holds <= 0 && monotonic_ns() < m_busy_until) {
    n = epoll_wait(m_epoll, events, 32, 0);
    if (n != 0) break;
    // Anything else runnable on this CPU (the slirp helper, the kernel's I/O
    // workers, the guest itself) goes first: the poll only uses idle time.
    sched_yield();
    if (!m_timers.empty() && m_timers.begin()->first.first <= monotonic_ns()) {
      timeout = 0;
      break;
    }
  }
  if (n == 0) {
    timespec ts{static_cast<time_t>(timeout / 1000000000), static_cast<long>(timeout % 1000000000)};
    n = epoll_pwait2(m_epoll, events, 32, timeout < 0 ? nullptr : &ts, nullptr);
  }
  for (int i = 0; i < n && !m_stopped; ++i) {
    auto it = m_fds.find(events[i].data.fd);
    if (it == m_fds.end()) continue;  // removed by an earlier handler in this batch
    std::shared_ptr<FdHandler> handler = it->second;  // survives remove_fd() inside itself
    (*handler)(events[i].events);
  }
  // After the handlers: they may have started disk I/O (a hold).
  if (n > 0 && m_busy_poll_ns && m_busy_poll_holds <= 0) poll_briefly(m_busy_poll_ns);
  uint64_t now = monotonic_ns();
  while (!m_stopped && !m_timers.empty() && m_timers.begin()->first.first <= now) {
    TimerHandler h = std::move(m_timers.begin()->second);
    m_timer_deadlines.erase(m_timers.begin()->first.second);
    m_timers.erase(m_timers.begin());
    h();
  }
}

void EventLoop::poll_briefly(uint64_t ns) {
  uint64_t until = monotonic_ns() + ns;
  if (until > m_busy_until) m_busy_until = until;
}

void EventLoop::run() {
  while (!m_stopped) run_once();
}

}  // namespace atl::hv
