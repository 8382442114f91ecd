/* futex-pingpong [ROUND_TRIPS]: the native floor for the event-channel round
 * trip. Two processes share one page; each round trip the parent publishes a
 * sequence number and FUTEX_WAKEs the child, the child (asleep in FUTEX_WAIT)
 * echoes the number back and FUTEX_WAKEs the parent, and the parent (asleep in
 * FUTEX_WAIT) times it. So a round trip is two wake-ups of a sleeping process,
 * the same two context switches a hypercall costs the guest.
 *
 * The futexes are shared (no FUTEX_PRIVATE_FLAG): the kernel keys them by the
 * page, which both processes map. */
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kWarmup = 1000 };

struct Mailbox {
  uint32_t ping;  /* parent -> child */
  uint32_t pong;  /* child -> parent */
};

static void futex_wait(uint32_t* word, uint32_t expected) {
  syscall(SYS_futex, word, FUTEX_WAIT, expected, NULL, NULL, 0);
}

static void futex_wake(uint32_t* word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0); }

/* Sleeps until *word holds `value`. */
static void await(uint32_t* word, uint32_t value) {
  uint32_t seen;
  while ((seen = __atomic_load_n(word, __ATOMIC_ACQUIRE)) != value) futex_wait(word, seen);
}

static void post(uint32_t* word, uint32_t value) {
  __atomic_store_n(word, value, __ATOMIC_RELEASE);
  futex_wake(word);
}

#include "bench_util.h"

int main(int argc, char** argv) {
  int iterations = argc > 1 ? atoi(argv[1]) : 20000;
  if (iterations < 1) { fprintf(stderr, "usage: futex-pingpong [ROUND_TRIPS]\n"); return 2; }
  int total = kWarmup + iterations;
  struct Mailbox* box = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  long long* samples = calloc((size_t)iterations, sizeof *samples);
  if (box == MAP_FAILED || !samples) { perror("futex-pingpong: allocating"); return 1; }

  pid_t child = fork();
  if (child < 0) { perror("futex-pingpong: fork"); return 1; }
  if (child == 0) {
    for (uint32_t i = 1; i <= (uint32_t)total; ++i) {
      await(&box->ping, i);
      post(&box->pong, i);
    }
    _exit(0);
  }

  for (uint32_t i = 1; i <= (uint32_t)total; ++i) {
    long long t0 = monotonic_ns();
    post(&box->ping, i);
    await(&box->pong, i);
    long long t1 = monotonic_ns();
    if (i > kWarmup) samples[i - kWarmup - 1] = t1 - t0;
  }
  int status;
  waitpid(child, &status, 0);

  qsort(samples, (size_t)iterations, sizeof *samples, compare_ll);
  long long sum = 0;
  for (int i = 0; i < iterations; ++i) sum += samples[i];
  printf("futex_rtt: iterations=%d median_ns=%lld mean_ns=%lld p99_ns=%lld min_ns=%lld\n", iterations,
         samples[iterations / 2], sum / iterations, samples[(long long)iterations * 99 / 100], samples[0]);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
