// lwIP's operating-system layer (NO_SYS=0) on Atoll's cooperative threads: the
// 19 sys_* functions lwIP needs, built from atl::sched wait queues and mutexes.
// Waits check their condition with upcalls masked (sched::wait_until), so a
// future driver's event handler may post or signal without losing a wake-up.
#include <new>

#include "atoll/evtchn.h"
#include "atoll/sched.h"
#include "atoll/time.h"
#include "lwip/sys.h"

using namespace atl;

struct atl_lwip_sem {
  sched::WaitQueue waiters;
  u32_t count;
};

struct atl_lwip_mutex {
  sched::Mutex mutex;
};

// A bounded FIFO of messages. Its slots grow as it fills, up to capacity: a
// socket's receive mailbox is sized for a whole TCP window of segments, which
// few of thousands of idle connections ever hold.
struct atl_lwip_mbox {
  sched::WaitQueue not_empty, not_full;
  void** slots;
  u32_t allocated, capacity, head, count;
};

namespace {

constexpr u32_t kDefaultMboxSize = 64;
constexpr u32_t kFirstSlots = 8;
constexpr uint64_t kNsPerMs = 1000000;

uint64_t deadline_after_ms(u32_t timeout_ms) {
  return timeout_ms ? time::monotonic_ns() + timeout_ms * kNsPerMs : 0;
}

// lwIP wants the time waited in ms, or SYS_ARCH_TIMEOUT.
u32_t waited_ms(uint64_t start_ns, bool ready) {
  if (!ready) return SYS_ARCH_TIMEOUT;
  uint64_t ms = (time::monotonic_ns() - start_ns) / kNsPerMs;
  return ms >= SYS_ARCH_TIMEOUT ? SYS_ARCH_TIMEOUT - 1 : static_cast<u32_t>(ms);
}

// Room for one more message (count < capacity already); false when the
// slots cannot grow.
bool mbox_reserve(atl_lwip_mbox* b) {
  if (b->count < b->allocated) return true;
  u32_t grown = b->allocated * 2 < b->capacity ? b->allocated * 2 : b->capacity;
  void** slots = new (std::nothrow) void*[grown];
  if (!slots) return false;
  for (u32_t i = 0; i < b->count; ++i) slots[i] = b->slots[(b->head + i) % b->allocated];
  delete[] b->slots;
  b->slots = slots;
  b->allocated = grown;
  b->head = 0;
  return true;
}

void mbox_push(atl_lwip_mbox* b, void* msg) {
  b->slots[(b->head + b->count++) % b->allocated] = msg;
  b->not_empty.wake_one();
}

void* mbox_pop(atl_lwip_mbox* b) {
  void* msg = b->slots[b->head];
  b->head = (b->head + 1) % b->allocated;
  --b->count;
  b->not_full.wake_one();
  return msg;
}

}  // namespace

extern "C" {

void sys_init() {}

u32_t sys_now() { return static_cast<u32_t>(time::monotonic_ns() / kNsPerMs); }

sys_prot_t sys_arch_protect() { return evtchn::upcalls_disable(); }

void sys_arch_unprotect(sys_prot_t previous) { evtchn::upcalls_restore(previous); }

sys_thread_t sys_thread_new(const char* name, lwip_thread_fn fn, void* arg, int stacksize, int) {
  size_t stack = stacksize > 0 ? static_cast<size_t>(stacksize) : DEFAULT_THREAD_STACKSIZE;
  sched::Thread* t = sched::create(name, fn, arg, stack);
  LWIP_ASSERT("sys_thread_new: out of memory", t != nullptr);
  return reinterpret_cast<sys_thread_t>(t);
}

// ---- Semaphores ------------------------------------------------------------

err_t sys_sem_new(sys_sem_t* sem, u8_t count) {
  *sem = new (std::nothrow) atl_lwip_sem{{}, count};
  return *sem ? ERR_OK : ERR_MEM;
}

void sys_sem_free(sys_sem_t* sem) {
  delete *sem;
  *sem = nullptr;
}

void sys_sem_signal(sys_sem_t* sem) {
  evtchn::UpcallGuard guard;
  ++(*sem)->count;
  (*sem)->waiters.wake_one();
}

u32_t sys_arch_sem_wait(sys_sem_t* sem, u32_t timeout_ms) {
  atl_lwip_sem* s = *sem;
  uint64_t start = time::monotonic_ns();
  evtchn::UpcallGuard guard;
  bool ready = sched::wait_until(s->waiters, [s] { return s->count > 0; }, deadline_after_ms(timeout_ms));
  if (ready) --s->count;
  return waited_ms(start, ready);
}

// ---- Mutexes ---------------------------------------------------------------

err_t sys_mutex_new(sys_mutex_t* mutex) {
  *mutex = new (std::nothrow) atl_lwip_mutex;
  return *mutex ? ERR_OK : ERR_MEM;
}

void sys_mutex_free(sys_mutex_t* mutex) {
  delete *mutex;
  *mutex = nullptr;
}

void sys_mutex_lock(sys_mutex_t* mutex) { (*mutex)->mutex.lock(); }

void sys_mutex_unlock(sys_mutex_t* mutex) { (*mutex)->mutex.unlock(); }

// ---- Mailboxes -------------------------------------------------------------

err_t sys_mbox_new(sys_mbox_t* mbox, int size) {
  u32_t capacity = size > 0 ? static_cast<u32_t>(size) : kDefaultMboxSize;
  u32_t allocated = capacity < kFirstSlots ? capacity : kFirstSlots;
  void** slots = new (std::nothrow) void*[allocated];
  if (!slots) return ERR_MEM;
  *mbox = new (std::nothrow) atl_lwip_mbox{{}, {}, slots, allocated, capacity, 0, 0};
  if (!*mbox) {
    delete[] slots;
    return ERR_MEM;
  }
  return ERR_OK;
}

void sys_mbox_free(sys_mbox_t* mbox) {
  // lwIP drains a mailbox before freeing it; anything left is a leak it reports.
  LWIP_ASSERT("sys_mbox_free: mailbox not empty", (*mbox)->count == 0);
  delete[] (*mbox)->slots;
  delete *mbox;
  *mbox = nullptr;
}

void sys_mbox_post(sys_mbox_t* mbox, void* msg) {
  atl_lwip_mbox* b = *mbox;
  evtchn::UpcallGuard guard;
  // Out of memory for more slots, it waits for a reader as if full.
  sched::wait_until(b->not_full, [b] { return b->count < b->capacity && mbox_reserve(b); });
  mbox_push(b, msg);
}

err_t sys_mbox_trypost(sys_mbox_t* mbox, void* msg) {
  atl_lwip_mbox* b = *mbox;
  evtchn::UpcallGuard guard;
  if (b->count == b->capacity || !mbox_reserve(b)) return ERR_MEM;
  mbox_push(b, msg);
  return ERR_OK;
}

// Upcall handlers are this platform's ISRs; trypost never blocks, so it serves both.
err_t sys_mbox_trypost_fromisr(sys_mbox_t* mbox, void* msg) { return sys_mbox_trypost(mbox, msg); }

u32_t sys_arch_mbox_fetch(sys_mbox_t* mbox, void** msg, u32_t timeout_ms) {
  atl_lwip_mbox* b = *mbox;
  uint64_t start = time::monotonic_ns();
  evtchn::UpcallGuard guard;
  bool ready = sched::wait_until(b->not_empty, [b] { return b->count > 0; }, deadline_after_ms(timeout_ms));
  void* got = ready ? mbox_pop(b) : nullptr;
  if (msg) *msg = got;
  return waited_ms(start, ready);
}

u32_t sys_arch_mbox_tryfetch(sys_mbox_t* mbox, void** msg) {
  atl_lwip_mbox* b = *mbox;
  evtchn::UpcallGuard guard;
  if (b->count == 0) return SYS_MBOX_EMPTY;
  void* got = mbox_pop(b);
  if (msg) *msg = got;
  return 0;
}

}  // extern "C"
