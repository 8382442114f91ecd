/* Output still sitting in stdio's buffers when main returns must reach the
 * console: exit() flushes it. */
#include <stdio.h>

int main(void) {
  setvbuf(stdout, NULL, _IOFBF, 4096);
  printf("buffered, no newline");
  return 0;
}
