/* A clock and timer witness for pause/unpause: one line per timer tick,
 *
 *   tick seq=N deadline=D now=T
 *
 * where D is the CLOCK_MONOTONIC deadline the tick slept to and T the clock
 * when it woke (both ns; the guest's clock is the host's CLOCK_MONOTONIC,
 * through pvclock). Each tick sleeps one period from the last wake, so a
 * timer that expired while the domain was paused fires once on unpause and
 * the ticks after it keep their period: no burst, no gap in seq. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(void) {
  const uint64_t period_ns = 100 * 1000 * 1000;
  printf("ticker: ready period=%llu\n", (unsigned long long)period_ns);
  fflush(stdout);
  uint64_t now = now_ns();
  for (uint64_t seq = 1;; ++seq) {
    uint64_t deadline = now + period_ns;
    struct timespec ts = {(time_t)(period_ns / 1000000000u), (long)(period_ns % 1000000000u)};
    nanosleep(&ts, NULL);
    now = now_ns();
    printf("tick seq=%llu deadline=%llu now=%llu\n", (unsigned long long)seq, (unsigned long long)deadline,
           (unsigned long long)now);
    fflush(stdout);
  }
}
