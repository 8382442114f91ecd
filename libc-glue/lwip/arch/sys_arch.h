// lwIP's operating-system types for NO_SYS=0 on Atoll's cooperative threads.
// Semaphores, mutexes and mailboxes are opaque handles to objects that
// sys_arch.cpp builds from atl::sched primitives; NULL is "invalid".
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct atl_lwip_sem;
struct atl_lwip_mutex;
struct atl_lwip_mbox;
struct atl_lwip_thread;

typedef struct atl_lwip_sem* sys_sem_t;
typedef struct atl_lwip_mutex* sys_mutex_t;
typedef struct atl_lwip_mbox* sys_mbox_t;
typedef struct atl_lwip_thread* sys_thread_t;
// The previous upcall mask (evtchn::upcalls_disable's return value).
typedef uint8_t sys_prot_t;

#define sys_sem_valid(s) ((s) != NULL && *(s) != NULL)
#define sys_sem_set_invalid(s) \
  do {                         \
    *(s) = NULL;               \
  } while (0)
#define sys_mutex_valid(m) ((m) != NULL && *(m) != NULL)
#define sys_mutex_set_invalid(m) \
  do {                           \
    *(m) = NULL;                 \
  } while (0)
#define sys_mbox_valid(b) ((b) != NULL && *(b) != NULL)
#define sys_mbox_set_invalid(b) \
  do {                          \
    *(b) = NULL;                \
  } while (0)

#ifdef __cplusplus
}
#endif
