#include "atoll/evtchn.h"

#include <xen/event_channel.h>

#include "atoll/evtchn_bits.h"
#include "atoll/hypercall.h"
#include "atoll/platform.h"

namespace atl::evtchn {
namespace {

struct Binding {
  Handler handler;
  void* data;
};

Binding g_bindings[evtchn_bits::kMaxPorts];
shared_info* g_shared;
vcpu_info* g_vcpu;
uint64_t g_dispatched;

void dispatch(unsigned port) {
  ++g_dispatched;
  const Binding& b = g_bindings[port];
  if (b.handler) b.handler(EvtchnPort(port), b.data);
}

}  // namespace

void init() {
  g_shared = platform::boot_info().shared;
  g_vcpu = &g_shared->vcpu_info[0];
  // Start from a clean slate: every port masked until something binds it.
  for (auto& w : g_shared->evtchn_mask) __atomic_store_n(&w, ~xen_ulong_t{0}, __ATOMIC_SEQ_CST);
}

// ORDERING: the hypervisor sets pending bits concurrently; evtchn_bits::consume
// clears the upcall flag before scanning, so an event raised mid-scan re-raises it
// and the loop below goes round again.
extern "C" void upcall() {
  // Claiming the mask makes a nested upcall (a signal landing right here) a no-op.
  if (__atomic_exchange_n(&g_vcpu->evtchn_upcall_mask, uint8_t{1}, __ATOMIC_SEQ_CST)) return;
  do {
    while (__atomic_load_n(&g_vcpu->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
      evtchn_bits::consume(g_shared, g_vcpu, dispatch);
    __atomic_store_n(&g_vcpu->evtchn_upcall_mask, uint8_t{0}, __ATOMIC_SEQ_CST);
    // An event that slipped in after the last scan but before unmasking.
  } while (__atomic_load_n(&g_vcpu->evtchn_upcall_pending, __ATOMIC_SEQ_CST) &&
           !__atomic_exchange_n(&g_vcpu->evtchn_upcall_mask, uint8_t{1}, __ATOMIC_SEQ_CST));
}

uint8_t upcalls_disable() {
  uint8_t previous = __atomic_exchange_n(&g_vcpu->evtchn_upcall_mask, uint8_t{1}, __ATOMIC_SEQ_CST);
  return previous;
}

bool upcalls_masked() { return __atomic_load_n(&g_vcpu->evtchn_upcall_mask, __ATOMIC_SEQ_CST) != 0; }

void upcalls_restore(uint8_t previous) {
  if (previous) return;
  __atomic_store_n(&g_vcpu->evtchn_upcall_mask, uint8_t{0}, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&g_vcpu->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) upcall();
}

void bind(EvtchnPort port, Handler handler, void* data) {
  if (port.value() >= evtchn_bits::kMaxPorts) return;
  {
    UpcallGuard guard;
    g_bindings[port.value()] = {handler, data};
  }
  unmask(port);
}

void unbind(EvtchnPort port) {
  if (port.value() >= evtchn_bits::kMaxPorts) return;
  mask(port);
  UpcallGuard guard;
  g_bindings[port.value()] = {nullptr, nullptr};
}

Result<EvtchnPort> bind_virq(uint32_t virq, Handler handler, void* data) {
  evtchn_bind_virq op{};
  op.virq = virq;
  op.vcpu = 0;
  long rc = hypercall::event_channel_op(EVTCHNOP_bind_virq, &op);
  if (rc < 0) return static_cast<Errno>(-rc);
  bind(EvtchnPort(op.port), handler, data);
  return EvtchnPort(op.port);
}

Result<EvtchnPort> alloc_unbound(DomId remote) {
  evtchn_alloc_unbound op{};
  op.dom = DOMID_SELF;
  op.remote_dom = remote.value();
  long rc = hypercall::event_channel_op(EVTCHNOP_alloc_unbound, &op);
  if (rc < 0) return static_cast<Errno>(-rc);
  return EvtchnPort(op.port);
}

Result<EvtchnPort> bind_interdomain(DomId remote, EvtchnPort remote_port) {
  evtchn_bind_interdomain op{};
  op.remote_dom = remote.value();
  op.remote_port = remote_port.value();
  long rc = hypercall::event_channel_op(EVTCHNOP_bind_interdomain, &op);
  if (rc < 0) return static_cast<Errno>(-rc);
  return EvtchnPort(op.local_port);
}

Result<void> send(EvtchnPort port) {
  evtchn_send op{port.value()};
  long rc = hypercall::event_channel_op(EVTCHNOP_send, &op);
  if (rc < 0) return static_cast<Errno>(-rc);
  // A hypercall returns with the upcall flag possibly raised (e.g. a loopback
  // channel); deliver it now, as Xen does on the way back to the guest.
  if (!__atomic_load_n(&g_vcpu->evtchn_upcall_mask, __ATOMIC_SEQ_CST) &&
      __atomic_load_n(&g_vcpu->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
    upcall();
  return {};
}

namespace {
// Ports send_deferred() queued; a port is queued once however often it asks.
constexpr unsigned kMaxDeferred = 16;
evtchn_port_t g_deferred[kMaxDeferred];
unsigned g_deferred_count = 0;
}  // namespace

void send_deferred(EvtchnPort port) {
  for (unsigned i = 0; i < g_deferred_count; ++i)
    if (g_deferred[i] == port.value()) return;
  if (g_deferred_count == kMaxDeferred) flush_deferred();
  g_deferred[g_deferred_count++] = port.value();
}

void flush_deferred() {
  // Taken first: send() may run an upcall whose handler queues again.
  while (g_deferred_count) (void)send(EvtchnPort(g_deferred[--g_deferred_count]));
}

unsigned take_deferred(uint32_t* out, unsigned max) {
  unsigned n = 0;
  while (g_deferred_count && n < max) out[n++] = g_deferred[--g_deferred_count];
  return n;
}

Result<void> close(EvtchnPort port) {
  unbind(port);
  evtchn_close op{port.value()};
  long rc = hypercall::event_channel_op(EVTCHNOP_close, &op);
  if (rc < 0) return static_cast<Errno>(-rc);
  return {};
}

void mask(EvtchnPort port) { evtchn_bits::mask(g_shared, port.value()); }

// Unmasking is done in place, as Xen PV guests do: the bitmaps are shared, and a
// pending event found on unmask is delivered by re-raising the upcall locally.
void unmask(EvtchnPort port) {
  UpcallGuard guard;
  evtchn_bits::unmask(g_shared, g_vcpu, port.value());
}

bool is_pending(EvtchnPort port) { return evtchn_bits::is_pending(g_shared, port.value()); }
uint64_t dispatched_count() { return __atomic_load_n(&g_dispatched, __ATOMIC_RELAXED); }
void clear(EvtchnPort port) { evtchn_bits::clear_pending(g_shared, port.value()); }

}  // namespace atl::evtchn
