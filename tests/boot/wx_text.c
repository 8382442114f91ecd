/* Writes to its own code: text is mapped read-execute, so this faults. */
#include <stdio.h>

__attribute__((noinline)) void patch_code(void (*fn)(void)) { *(volatile unsigned char*)fn = 0xc3; }
void victim(void) {}

int main(void) {
  printf("about to write to the text segment\n");
  fflush(stdout);
  patch_code(victim);
  printf("wrote to text!\n");
  return 0;
}
