#include "console_front.h"

#include <xen/io/console.h>

#include "atoll/byte_ring.h"
#include "atoll/evtchn.h"
#include "atoll/kernel.h"
#include "atoll/platform.h"
#include "atoll/sched.h"

namespace atl::console {
namespace {

xencons_interface* g_ring;
EvtchnPort g_port{0};
sched::WaitQueue g_input_waiters;
sched::WaitQueue g_space_waiters;

ByteRingView<sizeof(xencons_interface::out)> out_ring() {
  return {g_ring->out, &g_ring->out_cons, &g_ring->out_prod};
}
ByteRingView<sizeof(xencons_interface::in)> in_ring() { return {g_ring->in, &g_ring->in_cons, &g_ring->in_prod}; }

void on_event(EvtchnPort, void*) {
  g_input_waiters.wake_all();
  g_space_waiters.wake_all();
}

// Ring output: the kernel's console sink once the ring is connected.
void ring_write(const char* data, size_t length) { write(data, length); }

}  // namespace

Result<void> init() {
  const auto& console = platform::boot_info().console;
  if (!console) return Errno::kNoDev;
  g_ring = static_cast<xencons_interface*>(platform::gfn_to_virt(console->gfn));
  g_port = console->port;
  evtchn::bind(g_port, on_event, nullptr);
  kernel::set_console_sink(ring_write);
  return {};
}

bool connected() { return g_ring != nullptr; }

void write(const char* data, size_t length) {
  while (length) {
    size_t n = out_ring().write(data, length);
    data += n;
    length -= n;
    (void)evtchn::send(g_port);  // a failed notify leaves the output queued in the ring
    if (!length) break;
    // The backend drains while handling our notification, so the ring is rarely
    // still full here; wait for its event if we may block, else just retry.
    if (n == 0 && !evtchn::upcalls_masked())
      sched::wait_until(g_space_waiters, [] { return out_ring().writable() > 0; }, 0);
  }
}

size_t read(char* data, size_t length) {
  if (!length) return 0;
  sched::wait_until(g_input_waiters, [] { return in_ring().readable() > 0; });
  size_t n = in_ring().read(data, length);
  (void)evtchn::send(g_port);  // room for more input
  return n;
}

}  // namespace atl::console
