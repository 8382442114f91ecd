// Asks the hypervisor for a reboot.
#include <stdio.h>

#include "atoll/kernel.h"

int main() {
  printf("rebooting\n");
  fflush(stdout);
  atl::kernel::shutdown_reboot();
}
