/* Spins on the CPU forever without a hypercall: the guest `cpu_cap` holds
 * back (tests/daemon/fleet_limits.py). */
#include <stdio.h>

int main(void) {
  printf("spinning\n");
  fflush(stdout);
  volatile unsigned long n = 0;
  for (;;) ++n;
}
