// The two clocks the server reads: the wall clock for key expiry (absolute
// times are what the log stores, as Redis's AOF does) and the monotonic clock
// for timers and uptime.
#pragma once

#include <stdint.h>
#include <time.h>

namespace kv {

inline int64_t clock_ms(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline int64_t realtime_ms() { return clock_ms(CLOCK_REALTIME); }
inline int64_t monotonic_ms() { return clock_ms(CLOCK_MONOTONIC); }

}  // namespace kv
