#include "slirp_glue.h"

#include <algorithm>

namespace atl::slirp {

short to_poll_events(int slirp_events) {
  short e = 0;
  if (slirp_events & SLIRP_POLL_IN) e |= POLLIN;
  if (slirp_events & SLIRP_POLL_OUT) e |= POLLOUT;
  if (slirp_events & SLIRP_POLL_PRI) e |= POLLPRI;
  return e;
}

int to_slirp_events(short revents) {
  int e = 0;
  if (revents & POLLIN) e |= SLIRP_POLL_IN;
  if (revents & POLLOUT) e |= SLIRP_POLL_OUT;
  if (revents & POLLPRI) e |= SLIRP_POLL_PRI;
  if (revents & POLLERR) e |= SLIRP_POLL_ERR;
  if (revents & POLLHUP) e |= SLIRP_POLL_HUP;
  return e;
}

TimerList::Timer* TimerList::create(SlirpTimerCb cb, void* cb_opaque) {
  m_timers.push_back(std::make_unique<Timer>(Timer{cb, cb_opaque}));
  return m_timers.back().get();
}

void TimerList::destroy(Timer* t) {
  std::erase_if(m_timers, [t](const std::unique_ptr<Timer>& p) { return p.get() == t; });
}

void TimerList::run_due(int64_t now_ms) {
  std::vector<Timer*> due;
  for (auto& t : m_timers)
    if (t->expire_ms >= 0 && t->expire_ms <= now_ms) due.push_back(t.get());
  for (Timer* t : due) {
    // An earlier callback may have destroyed it.
    bool alive = std::any_of(m_timers.begin(), m_timers.end(), [t](const auto& p) { return p.get() == t; });
    if (!alive) continue;
    t->expire_ms = -1;
    t->cb(t->cb_opaque);
  }
}

uint32_t TimerList::next_timeout(int64_t now_ms, uint32_t timeout) const {
  for (const auto& t : m_timers) {
    if (t->expire_ms < 0) continue;
    int64_t left = t->expire_ms > now_ms ? t->expire_ms - now_ms : 0;
    if (left < timeout) timeout = static_cast<uint32_t>(left);
  }
  return timeout;
}

}  // namespace atl::slirp
