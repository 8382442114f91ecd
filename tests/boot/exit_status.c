/* exit(status) powers the domain off; the status is `atoll run`'s exit status. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  int status = argc > 1 ? atoi(argv[1]) : 0;
  printf("exiting with %d\n", status);
  exit(status);
}
