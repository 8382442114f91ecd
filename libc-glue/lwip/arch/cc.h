// lwIP's compiler/platform header for the Atoll guest: newlib types, our assert
// and diagnostics, and the pitfalls of mixing lwIP with newlib (toolchain.md §4).
#pragma once

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

// newlib's limits.h has no SSIZE_MAX, so lwIP's arch.h would `typedef int
// ssize_t`, which conflicts with newlib's `long`.
#ifndef SSIZE_MAX
#define SSIZE_MAX LONG_MAX
#endif

// struct timeval comes from newlib's <sys/time.h>, errno values from <errno.h>,
// and errno itself is newlib's per-thread one.
#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_ERRNO_STDINCLUDE 1

// BYTE_ORDER comes from newlib (<machine/endian.h> via <sys/time.h>).

// DNS query ids, TCP initial sequence numbers and ports: RDRAND where the CPU
// has it, else a generator seeded from the TSC (libc-glue/lwip/entropy.cpp).
#ifdef __cplusplus
extern "C"
#endif
    unsigned atoll_random_u32(void);
#define LWIP_RAND() ((u32_t)atoll_random_u32())

#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
    printf x;                 \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x)                                                   \
  do {                                                                            \
    printf("lwIP assertion \"%s\" failed at %s:%d\n", x, __FILE__, __LINE__);     \
    fflush(NULL);                                                                 \
    abort();                                                                      \
  } while (0)
