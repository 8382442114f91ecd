/* An idle appliance: says it is ready, then sleeps until the toolstack shuts
 * it down (the kernel's control/shutdown watch powers it off). What the density
 * benchmark packs by the thousand, and the daemon tests by the hundred. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("idle: ready\n");
  fflush(stdout);
  for (;;) sleep(3600);
}
