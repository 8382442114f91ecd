// Tiny assertion helpers for boot-test images: print a line per check, count
// failures, and make main's exit status say whether everything held.
#pragma once

#include <stdio.h>

inline int g_check_failures = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    bool ok_ = (cond);                                     \
    printf("%s: ", ok_ ? "ok" : "FAILED");                 \
    printf(__VA_ARGS__);                                   \
    printf("\n");                                          \
    if (!ok_) ++g_check_failures;                          \
  } while (0)

inline int check_result(const char* test) {
  printf("%s: %s\n", test, g_check_failures ? "FAILED" : "PASSED");
  return g_check_failures ? 1 : 0;
}
