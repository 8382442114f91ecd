#include "atoll/sched.h"

#include <reent.h>
#include <stdlib.h>
#include <string.h>

#include <new>
#include <xen/xen.h>

#include "atoll/evtchn.h"
#include "atoll/hypercall.h"
#include "atoll/kernel.h"
#include "atoll/time.h"

extern "C" void atoll_switch_context(uint64_t* save_rsp, uint64_t next_rsp);
extern "C" void atoll_thread_trampoline();
extern "C" void __sinit(struct _reent*);

namespace atl::sched {

namespace {
constexpr uint64_t kStackCanary = 0x5ca1ab1e0ddba11ULL;
}

struct Thread {
  uint64_t rsp = 0;
  uint8_t* stack = nullptr;  // nullptr for the boot thread, whose stack is not ours to free
  size_t stack_size = 0;
  const char* name = "";
  enum class State { kRunnable, kBlocked, kExited } state = State::kRunnable;
  Thread* next = nullptr;        // run queue or wait queue link
  WaitQueue* waiting_on = nullptr;
  Thread* timer_next = nullptr;  // sleepers list link
  bool on_timer = false;
  bool timed_out = false;
  uint64_t deadline = 0;
  WaitQueue joiners;
  struct _reent* reent_ptr = nullptr;  // newlib's per-thread state: errno, stdio buffers' owner...
  struct _reent reent{};                // ... which is this, except for the boot thread
};

namespace {

// constinit: sched::init() runs before C++ static constructors, which must not
// reset this object afterwards.
constinit Thread g_boot_thread;
Thread* g_current = &g_boot_thread;
Thread* g_idle;
Thread* g_run_head;
Thread* g_run_tail;
Thread* g_sleepers;  // sorted by deadline
unsigned g_threads = 1;

void run_queue_push(Thread* t) {
  t->next = nullptr;
  if (g_run_tail) g_run_tail->next = t; else g_run_head = t;
  g_run_tail = t;
}

Thread* run_queue_pop() {
  Thread* t = g_run_head;
  if (t) {
    g_run_head = t->next;
    if (!g_run_head) g_run_tail = nullptr;
    t->next = nullptr;
  }
  return t;
}

void timer_insert(Thread* t) {
  Thread** p = &g_sleepers;
  while (*p && (*p)->deadline <= t->deadline) p = &(*p)->timer_next;
  t->timer_next = *p;
  *p = t;
  t->on_timer = true;
}

void timer_remove(Thread* t) {
  if (!t->on_timer) return;
  for (Thread** p = &g_sleepers; *p; p = &(*p)->timer_next) {
    if (*p == t) { *p = t->timer_next; break; }
  }
  t->on_timer = false;
  t->timer_next = nullptr;
}

// Caller has upcalls disabled.
void make_runnable(Thread* t) {
  if (t->waiting_on) remove_waiter(*t->waiting_on, t);
  if (t->state != Thread::State::kBlocked) return;
  timer_remove(t);
  t->state = Thread::State::kRunnable;
  run_queue_push(t);
}

void wake_expired(uint64_t now) {
  while (g_sleepers && g_sleepers->deadline <= now) {
    Thread* t = g_sleepers;
    t->timed_out = true;
    make_runnable(t);
  }
}

void check_stack(const Thread* t) {
  if (t->stack && *reinterpret_cast<const uint64_t*>(t->stack) != kStackCanary)
    kernel::panic("stack overflow in thread '%s' (%zu-byte stack)", t->name, t->stack_size);
}

// Switches to the next runnable thread (or idle). Caller has upcalls disabled and
// has already queued or parked the current thread.
void schedule() {
  wake_expired(time::monotonic_ns());
  Thread* next = run_queue_pop();
  if (!next) next = g_idle;
  Thread* prev = g_current;
  // Deferred notifications go out at every switch but the one to idle,
  // which sends them with its block (one hypercall for all).
  if (next != g_idle) evtchn::flush_deferred();
  if (next == prev) return;
  check_stack(prev);
  g_current = next;
  _impure_ptr = next->reent_ptr;
  atoll_switch_context(&prev->rsp, next->rsp);
}

void block_current(uint64_t deadline) {
  Thread* self = g_current;
  self->state = Thread::State::kBlocked;
  self->timed_out = false;
  if (deadline) {
    self->deadline = deadline;
    timer_insert(self);
  }
  schedule();
}

bool g_multicall = true;  // until the hypervisor says it has none
constexpr long kXenENoSys = -38;  // ABI: xen/errno.h

// Sends the deferred notifications, programs the timer and blocks: as one
// multicall, so a guest that answers a request and goes idle crosses into
// the hypervisor once instead of three times.
void block_vcpu(uint64_t deadline) {
  constexpr unsigned kMax = 16;
  evtchn_port_t ports[kMax];
  evtchn_send sends[kMax];
  multicall_entry calls[kMax + 2] = {};
  unsigned n = 0;
  if (g_multicall) {
    unsigned k = evtchn::take_deferred(ports, kMax);
    for (unsigned i = 0; i < k; ++i) {
      sends[i].port = ports[i];
      calls[n].op = __HYPERVISOR_event_channel_op;
      calls[n].args[0] = EVTCHNOP_send;
      calls[n++].args[1] = hypercall::ptr(&sends[i]);
    }
    if (time::claim_timer(deadline)) {
      calls[n].op = __HYPERVISOR_set_timer_op;
      calls[n++].args[0] = deadline;
    }
    calls[n].op = __HYPERVISOR_sched_op;
    calls[n++].args[0] = SCHEDOP_block;
    if (hypercall::multicall(calls, n) != kXenENoSys) return;
    // No multicalls (not a Xen we know): the calls one by one from now on.
    g_multicall = false;
    for (unsigned i = 0; i < k; ++i) (void)evtchn::send(EvtchnPort(ports[i]));
    if (n > k + 1) hypercall::set_timer_op(deadline);
  }
  evtchn::flush_deferred();
  time::set_timer(deadline);
  hypercall::sched_op(SCHEDOP_block, nullptr);
}

// The idle thread: runs only when no other thread is runnable, and then blocks
// the vCPU in the hypervisor until the next sleeper's deadline or any event.
void idle_loop(void*) {
  for (;;) {
    uint8_t was = evtchn::upcalls_disable();
    wake_expired(time::monotonic_ns());
    if (g_run_head) {
      schedule();  // idle is never queued: schedule() comes back to it when nothing else runs
      evtchn::upcalls_restore(was);
      continue;
    }
    // SCHEDOP_block re-enables upcalls atomically with going to sleep, so an event
    // between our check and the block is not lost; it makes block return at once.
    block_vcpu(g_sleepers ? g_sleepers->deadline : 0);
    evtchn::upcall();
  }
}

}  // namespace

void remove_waiter(WaitQueue& q, Thread* t) {
  Thread* prev = nullptr;
  for (Thread* p = q.m_head; p; prev = p, p = p->next) {
    if (p != t) continue;
    if (prev) prev->next = p->next; else q.m_head = p->next;
    if (q.m_tail == p) q.m_tail = prev;
    break;
  }
  t->next = nullptr;
  t->waiting_on = nullptr;
}

bool WaitQueue::wait(uint64_t deadline_ns) {
  evtchn::UpcallGuard guard;
  Thread* self = g_current;
  self->next = nullptr;
  if (m_tail) m_tail->next = self; else m_head = self;
  m_tail = self;
  self->waiting_on = this;
  block_current(deadline_ns);
  return !self->timed_out;
}

void WaitQueue::wake_one() {
  evtchn::UpcallGuard guard;
  if (m_head) make_runnable(m_head);
}

void WaitQueue::wake_all() {
  evtchn::UpcallGuard guard;
  while (m_head) make_runnable(m_head);
}

void Mutex::lock() {
  while (!try_lock()) m_waiters.wait();
}

bool Mutex::try_lock() {
  evtchn::UpcallGuard guard;
  if (m_owner) return false;
  m_owner = g_current;
  return true;
}

void Mutex::unlock() {
  evtchn::UpcallGuard guard;
  if (m_owner != g_current) kernel::panic("mutex unlocked by '%s', which does not hold it", g_current->name);
  m_owner = nullptr;
  m_waiters.wake_one();
}

bool Mutex::held_by_current() const { return m_owner == g_current; }

bool CondVar::wait(Mutex& m, uint64_t deadline_ns) {
  bool woken;
  {
    // No upcall may run between releasing the mutex and parking: the signal
    // could otherwise be sent in between and lost.
    evtchn::UpcallGuard guard;
    m.unlock();
    woken = m_waiters.wait(deadline_ns);
  }
  m.lock();
  return woken;
}

void init() {
  g_boot_thread.name = "main";
  // The boot thread keeps newlib's global reent: exit() flushes stdio through the
  // cleanup hook __sinit installs there, so initialise the streams on it first.
  __sinit(_GLOBAL_REENT);
  g_boot_thread.reent_ptr = _GLOBAL_REENT;
  g_idle = create("idle", idle_loop, nullptr, 16 * 1024);
  if (!g_idle) kernel::panic("cannot allocate the idle thread");
  // The idle thread is never on the run queue; schedule() falls back to it.
  evtchn::UpcallGuard guard;
  g_run_head = g_run_tail = nullptr;
  g_idle->state = Thread::State::kRunnable;
  --g_threads;
}

Thread* create(const char* name, ThreadFn fn, void* arg, size_t stack_size) {
  if (stack_size < 4096) stack_size = 4096;
  stack_size = (stack_size + 15) & ~size_t{15};
  auto* t = static_cast<Thread*>(calloc(1, sizeof(Thread)));
  uint8_t* stack = static_cast<uint8_t*>(aligned_alloc(16, stack_size));
  if (!t || !stack) {
    free(t);
    free(stack);
    return nullptr;
  }
  new (t) Thread();
  t->name = name;
  t->stack = stack;
  t->stack_size = stack_size;
  *reinterpret_cast<uint64_t*>(stack) = kStackCanary;
  _REENT_INIT_PTR(&t->reent);
  t->reent_ptr = &t->reent;
  // The frame atoll_switch_context pops: control words, r15..r12, rbx, rbp, return.
  uint64_t* top = reinterpret_cast<uint64_t*>(stack + stack_size);
  top[-1] = reinterpret_cast<uint64_t>(&atoll_thread_trampoline);
  top[-2] = 0;                                  // rbp: ends backtraces
  top[-3] = 0;                                  // rbx
  top[-4] = reinterpret_cast<uint64_t>(fn);     // r12
  top[-5] = reinterpret_cast<uint64_t>(arg);    // r13
  top[-6] = 0;                                  // r14
  top[-7] = 0;                                  // r15
  top[-8] = 0x1F80 | (uint64_t{0x037F} << 32);  // MXCSR, x87 control word: the ABI defaults
  t->rsp = reinterpret_cast<uint64_t>(&top[-8]);
  evtchn::UpcallGuard guard;
  ++g_threads;
  run_queue_push(t);
  return t;
}

void join(Thread* t) {
  if (t == g_current) kernel::panic("thread '%s' tried to join itself", t->name);
  while (t->state != Thread::State::kExited) t->joiners.wait();
  --g_threads;
  free(t->stack);
  _reclaim_reent(&t->reent);
  t->~Thread();
  free(t);
}

// A new thread starts here from the trampoline. It was switched to from inside the
// scheduler, with upcalls masked; it enables them, as every thread runs with.
extern "C" [[noreturn]] void atoll_thread_entry(ThreadFn fn, void* arg) {
  evtchn::upcalls_restore(0);
  fn(arg);
  exit_thread();
}

void exit_thread() {
  evtchn::upcalls_disable();
  Thread* self = g_current;
  if (self == &g_boot_thread) kernel::panic("the main thread cannot exit_thread(); return from main()");
  self->state = Thread::State::kExited;
  self->joiners.wake_all();
  schedule();
  kernel::panic("exited thread '%s' was scheduled", self->name);
}

void yield() {
  evtchn::UpcallGuard guard;
  run_queue_push(g_current);
  schedule();
}

void sleep_until(uint64_t deadline_ns) {
  evtchn::UpcallGuard guard;
  if (deadline_ns <= time::monotonic_ns()) return;
  block_current(deadline_ns);
}

void sleep_ns(uint64_t ns) { sleep_until(time::monotonic_ns() + ns); }

Thread* current() { return g_current; }
const char* name(const Thread* t) { return t->name; }
unsigned thread_count() { return g_threads; }

void wake(Thread* t) {
  evtchn::UpcallGuard guard;
  make_runnable(t);
}

}  // namespace atl::sched
