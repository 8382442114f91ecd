// Allocates with new[] until the heap is full: the domain must report "out of
// memory" with the heap's figures and the request, then crash with a demangled
// backtrace through these functions (run with -m 16M; boot-out-of-memory).
// With `vector` as argv[1] the last request is a std::vector's growth instead.
#include <stdio.h>
#include <string.h>

#include <vector>

namespace oom_test {

struct Filler {
  char* blocks[4096];
  unsigned count = 0;

  // Each block is written so that it is really there, not only reserved.
  __attribute__((noinline)) void grow(unsigned long block_size) {
    char* block = new char[block_size];
    memset(block, count & 0xff, block_size);
    blocks[count++ % 4096] = block;
    __asm__ volatile("" ::: "memory");  // keep this frame: no tail call
  }
};

__attribute__((noinline)) void fill_vector() {
  std::vector<unsigned long> v;
  for (unsigned long i = 0;; ++i) v.push_back(i);
}

}  // namespace oom_test

int main(int argc, char** argv) {
  printf("filling the heap\n");
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "vector") == 0) oom_test::fill_vector();
  static oom_test::Filler filler;
  for (;;) filler.grow(1 << 20);
  printf("still alive?\n");
  return 0;
}
