/* Makes a raw Linux system call: the guest's sandbox must kill it. */
#include <stdio.h>

int main(void) {
  printf("about to call getpid() directly\n");
  fflush(stdout);
  long ret;
  __asm__ volatile("syscall" : "=a"(ret) : "a"(39L) : "rcx", "r11", "memory");
  printf("escaped: getpid returned %ld\n", ret);
  return 0;
}
