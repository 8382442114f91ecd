// The emergency console of a PVH guest: early boot, panics and fault reports.
// On a domU, Debian's (non-debug) Xen drops HYPERVISOR_console_io output, so
// text goes straight into the PV console ring xenconsoled reads; the ring
// driver (pv-drivers/console) keeps no index of its own, so the two can
// share the ring. Without a ring (a PVH dom0) console_io reaches Xen's serial
// line.
#include <stdarg.h>
#include <stdio.h>
#include <xen/event_channel.h>
#include <xen/io/console.h>
#include <xen/sched.h>

#include "atoll/byte_ring.h"
#include "atoll/platform.h"
#include "pvh.h"

namespace atl::platform::pvh {
namespace {

// How often a full ring is retried (yielding to xenconsoled in between) before
// the rest of the text is dropped: a wedged console must not hang a crash.
constexpr unsigned kFullRingRetries = 100000;

void ring_write(xencons_interface* ring, EvtchnPort port, const char* text, size_t length) {
  ByteRingView<sizeof ring->out> out{ring->out, &ring->out_cons, &ring->out_prod};
  evtchn_send send{port.value()};
  for (unsigned tries = 0; length && tries < kFullRingRetries; ++tries) {
    size_t n = out.write(text, length);
    text += n;
    length -= n;
    atoll_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, reinterpret_cast<uintptr_t>(&send), 0, 0, 0);
    if (length) atoll_hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
  }
}

}  // namespace

void emergency_write(const char* text, size_t length) {
  const auto& console = boot_info().console;
  if (console) {
    ring_write(static_cast<xencons_interface*>(gfn_to_virt(console->gfn)), console->port, text, length);
    return;
  }
  atoll_hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, length, reinterpret_cast<uintptr_t>(text), 0, 0);
}

void emergency_print(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) emergency_write(buf, n < static_cast<int>(sizeof buf) ? n : sizeof buf - 1);
}

}  // namespace atl::platform::pvh
