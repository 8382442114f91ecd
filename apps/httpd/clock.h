// The two clocks the server reads: monotonic for deadlines and durations, real
// time for Date, Last-Modified comparisons and the access log.
#pragma once

#include <stdint.h>
#include <time.h>

namespace atl::httpd {

inline uint64_t monotonic_us() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

inline time_t wall_seconds() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

}  // namespace atl::httpd
