/* The child spawn-to-main starts: a static binary that reports CLOCK_MONOTONIC
 * (in ns) as the first thing its main() does, the native counterpart of the
 * guest's "main() reached" boot milestone. */
#include <stdio.h>
#include <time.h>

int main(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  return 0;
}
