/* Console input: reads lines from stdin (the PV console ring) and echoes them
 * until "quit". */
#include <stdio.h>
#include <string.h>

int main(void) {
  char line[256];
  printf("ready\n");
  fflush(stdout);
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (strcmp(line, "quit") == 0) break;
    printf("echo: %s\n", line);
  }
  printf("bye\n");
  return 0;
}
