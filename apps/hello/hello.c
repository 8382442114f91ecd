/* The first appliance: a greeting, the time, its arguments, exit 0. */
#include <stdio.h>
#include <time.h>

int main(int argc, char** argv) {
  printf("Hello from Atoll!\n");
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
