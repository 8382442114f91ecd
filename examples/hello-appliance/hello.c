/* An appliance of your own: it greets, says what it was given, and powers off
 * with exit status 0. Build it with meson (meson.build) or make (Makefile);
 * see docs/sdk.md. */
#include <stdio.h>

int main(int argc, char** argv) {
  printf("Hello from an appliance built outside the Atoll tree!\n");
  for (int i = 1; i < argc; ++i) printf("arg %d: %s\n", i, argv[i]);
  return 0;
}
