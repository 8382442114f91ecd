/* Dereferences NULL from a nested call: the domain must crash with a report
 * naming the fault and a symbolized backtrace through both functions. */
#include <stdio.h>

__attribute__((noinline)) void crash_here(int* volatile p) { *p = 42; }
__attribute__((noinline)) void call_crash(void) {
  crash_here(NULL);
  __asm__ volatile("" ::: "memory"); /* keep this frame: no tail call */
}

int main(void) {
  printf("about to dereference NULL\n");
  fflush(stdout);
  call_crash();
  printf("still alive?\n");
  return 0;
}
