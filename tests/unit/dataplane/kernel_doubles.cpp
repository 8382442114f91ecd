// The guest kernel under the frontends, as test doubles over GuestEnv: event
// channels through real hypercalls (alloc_unbound, send, close, unmask), a
// scheduler whose waits run GuestEnv::idle() (one vCPU and no other thread to
// switch to: waiting is where the backends get to run), the platform's grant
// table setup (GNTTABOP_setup_table; the entries are then the real
// kernel/gnttab.cpp's), the console, and the guest heap of guest_heap.h.
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>

#include "atoll/evtchn.h"
#include "atoll/hosted_abi.h"
#include "atoll/kernel.h"
#include "atoll/platform.h"
#include "atoll/sched.h"
#include "atoll/time.h"
#include "atoll/xenstore.h"
#include "guest_env.h"
#include "guest_heap.h"

namespace atl {
namespace {

dataplane::GuestEnv& env() { return dataplane::GuestEnv::get(); }
uint8_t g_upcall_mask = 0;

// A wait with no deadline that sees no progress for this long is a deadlock
// in the code under test: better a clear abort than a test timing out.
constexpr uint64_t kStuckNs = 20'000'000'000ULL;

}  // namespace

namespace evtchn {

void bind(EvtchnPort port, Handler handler, void* data) { env().bind(port, handler, data); }
void unbind(EvtchnPort port) { env().unbind(port); }

Result<EvtchnPort> alloc_unbound(DomId remote) {
  auto* op = env().args<evtchn_alloc_unbound>();
  op->dom = DOMID_SELF;
  op->remote_dom = remote.value();
  long r = env().hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, reinterpret_cast<uint64_t>(op));
  if (r != 0) return Errno::kNoSpc;
  return EvtchnPort(op->port);
}

Result<void> send(EvtchnPort port) {
  auto* op = env().args<evtchn_send>();
  op->port = port.value();
  env().count_send();
  if (env().hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, reinterpret_cast<uint64_t>(op)) != 0)
    return Errno::kInval;
  return {};
}

void send_deferred(EvtchnPort port) { env().send_deferred(port); }

Result<void> close(EvtchnPort port) {
  auto* op = env().args<evtchn_close>();
  op->port = port.value();
  if (env().hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_close, reinterpret_cast<uint64_t>(op)) != 0)
    return Errno::kInval;
  return {};
}

// Events are taken only in GuestEnv::idle(), never in the middle of driver
// code, so "upcalls masked" needs no more than its flag.
uint8_t upcalls_disable() {
  uint8_t previous = g_upcall_mask;
  g_upcall_mask = 1;
  return previous;
}
bool upcalls_masked() { return g_upcall_mask != 0; }
void upcalls_restore(uint8_t previous) { g_upcall_mask = previous; }

}  // namespace evtchn

namespace sched {

bool WaitQueue::wait(uint64_t deadline_ns) {
  static uint64_t stuck_since;
  uint64_t now = time::monotonic_ns();
  if (deadline_ns && now >= deadline_ns) return false;
  env().idle();
  if (deadline_ns) return time::monotonic_ns() < deadline_ns;
  // wait_until() checks its condition after each return; no deadline and no
  // progress for kStuckNs means nothing will ever make it true.
  if (!stuck_since || now - stuck_since > 1'000'000'000) stuck_since = now;
  if (now - stuck_since > kStuckNs) {
    fprintf(stderr, "dataplane: a guest thread waited %llu s without a deadline: deadlock\n",
            static_cast<unsigned long long>(kStuckNs / 1'000'000'000));
    abort();
  }
  return true;
}

// There are no other threads: a waiter re-checks its condition after every idle().
void WaitQueue::wake_one() {}
void WaitQueue::wake_all() {}

}  // namespace sched

namespace time {
uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
}  // namespace time

namespace platform {

Result<void*> map_grant_table(unsigned frames) {
  struct Args {
    gnttab_setup_table op;
    xen_pfn_t gfns[16];
  };
  if (frames > 16) return Errno::kInval;
  auto* a = env().args<Args>();
  a->op.dom = DOMID_SELF;
  a->op.nr_frames = frames;
  set_xen_guest_handle(a->op.frame_list, a->gfns);
  long r = env().hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, reinterpret_cast<uint64_t>(&a->op), 1);
  if (r != 0 || a->op.status != GNTST_okay) return Errno::kIo;
  // The frames are contiguous in the hypervisor's frames window.
  return phys_to_virt(a->gfns[0] << 12);
}

void* phys_to_virt(uint64_t gpa) { return env().phys_to_virt(gpa); }
uint64_t virt_to_phys(const void* va) { return env().virt_to_phys(va); }

}  // namespace platform

namespace kernel {
void console_print(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("guest console: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
}
}  // namespace kernel

namespace xs {
Client* client() { return &env().client(); }
}  // namespace xs

namespace net {
void* aligned_alloc(size_t align, size_t bytes) { return env().alloc_pages(bytes, align); }
void free(void* va) { env().free_pages(va); }
}  // namespace net

namespace blk {
void* aligned_alloc(size_t align, size_t bytes) { return env().alloc_pages(bytes, align); }
void free(void* va) { env().free_pages(va); }
}  // namespace blk

}  // namespace atl
