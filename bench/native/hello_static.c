/* The native peer of apps/hello: the same greeting, time and arguments, from a
 * static Linux binary, so that starting it costs no dynamic loading. */
#include <stdio.h>
#include <time.h>

int main(int argc, char** argv) {
  printf("Hello from Linux!\n");
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char when[64];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
  printf("The time is %s.\n", when);
  printf("argc = %d\n", argc);
  for (int i = 0; i < argc; ++i) printf("argv[%d] = \"%s\"\n", i, argv[i]);
  return 0;
}
