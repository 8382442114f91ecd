/* spawn-to-main CHILD [RUNS]: how long from posix_spawn to the child's main(),
 * the native counterpart of `atoll run -v`'s "main() at X ms after domain
 * creation". Each run takes CLOCK_MONOTONIC, posix_spawns CHILD (spawn-child,
 * which prints its own CLOCK_MONOTONIC at the top of main) with its stdout on a
 * pipe, reads that stamp and reaps the child. CLOCK_MONOTONIC is system-wide, so
 * the two stamps compare directly.
 *
 * Prints one "main() at X ms" line per run, then the median. */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

/* Returns the child's main() stamp minus the pre-spawn stamp, or -1. */
static long long spawn_once(const char* child) {
  int pipefd[2];
  if (pipe(pipefd) != 0) { perror("spawn-to-main: pipe"); return -1; }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, pipefd[0]);
  char* argv[] = {(char*)child, NULL};
  char* envp[] = {NULL};
  pid_t pid;
  long long t0 = monotonic_ns();
  int rc = posix_spawn(&pid, child, &fa, NULL, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (rc != 0) {
    fprintf(stderr, "spawn-to-main: cannot spawn %s: %s\n", child, strerror(rc));
    close(pipefd[0]);
    return -1;
  }
  char text[64];
  size_t got = 0;
  ssize_t n;
  while (got < sizeof text - 1 && (n = read(pipefd[0], text + got, sizeof text - 1 - got)) != 0) {
    if (n < 0) { if (errno == EINTR) continue; break; }
    got += (size_t)n;
  }
  close(pipefd[0]);
  text[got] = 0;
  int status;
  waitpid(pid, &status, 0);
  char* end;
  long long t_main = strtoll(text, &end, 10);
  if (end == text || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "spawn-to-main: %s did not report its start time\n", child);
    return -1;
  }
  return t_main - t0;
}

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: spawn-to-main CHILD [RUNS]\n");
    return 2;
  }
  int runs = argc == 3 ? atoi(argv[2]) : 50;
  if (runs < 1) { fprintf(stderr, "spawn-to-main: RUNS must be at least 1\n"); return 2; }
  long long* samples = calloc((size_t)runs, sizeof *samples);
  if (!samples) return 1;
  for (int i = 0; i < runs; ++i) {
    samples[i] = spawn_once(argv[1]);
    if (samples[i] < 0) return 1;
    printf("main() at %.3f ms\n", samples[i] / 1e6);
  }
  qsort(samples, (size_t)runs, sizeof *samples, compare_ll);
  printf("spawn-to-main: runs=%d median_ms=%.3f\n", runs, samples[runs / 2] / 1e6);
  free(samples);
  return 0;
}
