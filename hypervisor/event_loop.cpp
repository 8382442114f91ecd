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
  m_timers.emplace(deadline_ns, std::make_pair(id, std::move(handler)));
  return id;
}

void EventLoop::cancel_timer(TimerId id) {
  for (auto it = m_timers.begin(); it != m_timers.end(); ++it)
    if (it->second.first == id) { m_timers.erase(it); return; }
}

void EventLoop::run_once(int max_wait_ms) {
  int timeout = max_wait_ms;
  if (!m_timers.empty()) {
    uint64_t now = monotonic_ns();
    uint64_t first = m_timers.begin()->first;
    int until = first <= now ? 0 : static_cast<int>((first - now + 999999) / 1000000);
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
    if (!m_timers.empty() && m_timers.begin()->first <= monotonic_ns()) {
      timeout = 0;
      break;
    }
  }
  if (n == 0) n = epoll_wait(m_epoll, events, 32, timeout);
  for (int i = 0; i < n && !m_stopped; ++i) {
    auto it = m_fds.find(events[i].data.fd);
    if (it == m_fds.end()) continue;  // removed by an earlier handler in this batch
    std::shared_ptr<FdHandler> handler = it->second;  // survives remove_fd() inside itself
    (*handler)(events[i].events);
  }
  // After the handlers: they may have started disk I/O (a hold).
  if (n > 0 && m_busy_poll_ns && m_busy_poll_holds <= 0) poll_briefly(m_busy_poll_ns);
  uint64_t now = monotonic_ns();
  while (!m_stopped && !m_timers.empty() && m_timers.begin()->first <= now) {
    TimerHandler h = std::move(m_timers.begin()->second.second);
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
