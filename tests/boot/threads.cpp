// Cooperative threads: sleep order, mutex + condition variable handoff, join,
// yield interleaving and per-thread errno.
#include <errno.h>

#include "atoll/sched.h"
#include "atoll/time.h"
#include "check.h"

using namespace atl;

namespace {

// Sleepers wake in deadline order regardless of creation order.
int g_order[3];
int g_order_n;
void sleeper(void* arg) {
  int ms = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  sched::sleep_ns(uint64_t(ms) * 1000000);
  g_order[g_order_n++] = ms;
}

// A bounded buffer through a mutex and two condition variables.
constexpr int kItems = 2000;
struct Buffer {
  sched::Mutex lock;
  sched::CondVar not_empty, not_full;
  int items[4];
  int head = 0, count = 0;
} g_buf;

void producer(void*) {
  for (int i = 0; i < kItems; ++i) {
    g_buf.lock.lock();
    while (g_buf.count == 4) g_buf.not_full.wait(g_buf.lock);
    g_buf.items[(g_buf.head + g_buf.count++) % 4] = i;
    g_buf.not_empty.signal();
    g_buf.lock.unlock();
  }
}

// Yield interleaving.
int g_trace[8];
int g_trace_n;
void yielder(void* arg) {
  for (int i = 0; i < 4; ++i) {
    g_trace[g_trace_n++] = static_cast<int>(reinterpret_cast<intptr_t>(arg));
    sched::yield();
  }
}

volatile int g_errno_seen = -1;
void errno_thread(void*) {
  errno = 7;
  sched::yield();
  g_errno_seen = errno;
}

}  // namespace

int main() {
  const unsigned base = sched::thread_count();  // main, plus the kernel's own (xenstore)
  sched::Thread* t30 = sched::create("sleep30", sleeper, reinterpret_cast<void*>(30));
  sched::Thread* t10 = sched::create("sleep10", sleeper, reinterpret_cast<void*>(10));
  sched::Thread* t20 = sched::create("sleep20", sleeper, reinterpret_cast<void*>(20));
  CHECK(sched::thread_count() == base + 3, "three more threads exist (%u)", sched::thread_count());
  sched::join(t30);
  sched::join(t10);
  sched::join(t20);
  CHECK(g_order_n == 3 && g_order[0] == 10 && g_order[1] == 20 && g_order[2] == 30, "sleepers woke in deadline order");
  CHECK(sched::thread_count() == base, "joined threads are gone");

  sched::Thread* p = sched::create("producer", producer, nullptr);
  bool in_order = true;
  for (int i = 0; i < kItems; ++i) {
    g_buf.lock.lock();
    while (g_buf.count == 0) g_buf.not_empty.wait(g_buf.lock);
    int v = g_buf.items[g_buf.head];
    g_buf.head = (g_buf.head + 1) % 4;
    --g_buf.count;
    g_buf.not_full.signal();
    g_buf.lock.unlock();
    if (v != i) in_order = false;
  }
  sched::join(p);
  CHECK(in_order, "%d items through a mutex/condvar buffer, in order", kItems);

  sched::Mutex m;
  m.lock();
  CHECK(!m.try_lock() && m.held_by_current(), "try_lock on a held mutex fails");
  m.unlock();
  CHECK(m.try_lock(), "try_lock on a free mutex succeeds");
  m.unlock();

  sched::CondVar cv;
  m.lock();
  uint64_t t0 = time::monotonic_ns();
  bool woken = cv.wait(m, t0 + 20000000);
  uint64_t waited = time::monotonic_ns() - t0;
  m.unlock();
  CHECK(!woken && waited >= 20000000, "condvar wait times out after its deadline (%.1f ms)", waited / 1e6);

  sched::Thread* a = sched::create("A", yielder, reinterpret_cast<void*>(1));
  sched::Thread* b = sched::create("B", yielder, reinterpret_cast<void*>(2));
  sched::join(a);
  sched::join(b);
  bool alternates = g_trace_n == 8;
  for (int i = 0; i < g_trace_n; ++i) alternates = alternates && g_trace[i] == (i % 2 ? 2 : 1);
  CHECK(alternates, "two yielding threads alternate");

  errno = 3;
  sched::Thread* e = sched::create("errno", errno_thread, nullptr);
  sched::yield();
  CHECK(errno == 3, "errno is per thread (main still sees %d)", errno);
  sched::join(e);
  CHECK(g_errno_seen == 7, "the other thread kept its own errno (%d)", g_errno_seen);
  return check_result("threads");
}
