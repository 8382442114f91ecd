// The pieces of atoll-slirp that adapt libslirp's callbacks to a poll() loop,
// apart from the process so they are unit-tested: libslirp's SLIRP_POLL_*
// events against poll()'s, and its timers (armed in milliseconds of the
// monotonic clock) as a list the loop fires and waits for.
#pragma once

#include <libslirp.h>
#include <poll.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace atl::slirp {

short to_poll_events(int slirp_events);
int to_slirp_events(short revents);

class TimerList {
 public:
  struct Timer {
    SlirpTimerCb cb;
    void* cb_opaque;
    int64_t expire_ms = -1;  // -1: not armed
  };

  Timer* create(SlirpTimerCb cb, void* cb_opaque);
  void destroy(Timer* t);
  static void arm(Timer* t, int64_t expire_ms) { t->expire_ms = expire_ms; }
  // Fires every armed timer due at `now_ms` once (disarming it first); a
  // callback may create, destroy or re-arm timers.
  void run_due(int64_t now_ms);
  // Milliseconds until the first armed timer, capped at `timeout`.
  uint32_t next_timeout(int64_t now_ms, uint32_t timeout) const;
  size_t size() const { return m_timers.size(); }

 private:
  std::vector<std::unique_ptr<Timer>> m_timers;
};

}  // namespace atl::slirp
