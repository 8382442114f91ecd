// Cooperative threads on the domain's one vCPU. A thread runs until it yields,
// sleeps, waits or exits; event handlers only make threads runnable. When nothing
// is runnable the idle thread blocks the vCPU in the hypervisor (SCHEDOP_block)
// until the next timer or event.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "atoll/evtchn.h"

namespace atl::sched {

struct Thread;
class WaitQueue;
void remove_waiter(WaitQueue& q, Thread* t);

// An intrusive FIFO of threads; threads wait on at most one queue at a time.
class WaitQueue {
 public:
  // Parks the current thread until woken or until `deadline_ns` (system time,
  // 0 = none). Returns false on timeout.
  bool wait(uint64_t deadline_ns = 0);
  void wake_one();
  void wake_all();
  bool empty() const { return m_head == nullptr; }

 private:
  friend struct Thread;
  friend void remove_waiter(WaitQueue&, Thread*);
  Thread* m_head = nullptr;
  Thread* m_tail = nullptr;
};

class Mutex {
 public:
  void lock();
  bool try_lock();
  void unlock();
  bool held_by_current() const;

 private:
  Thread* m_owner = nullptr;
  WaitQueue m_waiters;
};

class CondVar {
 public:
  // Atomically releases `m` and waits; re-acquires `m` before returning. Returns
  // false on timeout.
  bool wait(Mutex& m, uint64_t deadline_ns = 0);
  void signal() { m_waiters.wake_one(); }
  void broadcast() { m_waiters.wake_all(); }

 private:
  WaitQueue m_waiters;
};

using ThreadFn = void (*)(void* arg);

void init();
// Creates a runnable thread; nullptr if memory is short.
Thread* create(const char* name, ThreadFn fn, void* arg, size_t stack_size = 64 * 1024);
// Waits for `t` to exit and frees it. Each thread is joined at most once.
void join(Thread* t);
[[noreturn]] void exit_thread();
void yield();
void sleep_until(uint64_t deadline_ns);
void sleep_ns(uint64_t ns);
Thread* current();
const char* name(const Thread* t);
unsigned thread_count();
// Makes `t` runnable (from an event handler, for instance).
void wake(Thread* t);

// Waits on `q` until `ready()` holds, checking it with upcalls masked so a wake-up
// from an event handler cannot slip between the check and the wait. Returns
// ready() (false only when `deadline_ns` passed first).
template <typename Ready>
bool wait_until(WaitQueue& q, Ready ready, uint64_t deadline_ns = 0) {
  evtchn::UpcallGuard guard;
  while (!ready())
    if (!q.wait(deadline_ns)) return ready();
  return true;
}

}  // namespace atl::sched
