/* A failed assert(): the message reaches the console and the domain crashes. */
#include <assert.h>
#include <stdio.h>

int main(int argc, char** argv) {
  (void)argv;
  printf("checking an assertion that does not hold\n");
  fflush(stdout);
  assert(argc > 5);
  return 0;
}
