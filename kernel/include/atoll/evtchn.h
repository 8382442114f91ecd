// Event channels, guest side: bind handlers to ports, mask and unmask, and the
// upcall that dispatches pending ports. Handlers run with upcalls masked, in
// "interrupt" context: they may wake threads but must not block or yield.
#pragma once

#include <stdint.h>

#include "atoll/result.h"
#include "atoll/types.h"

namespace atl::evtchn {

using Handler = void (*)(EvtchnPort port, void* data);

void init();
// The upcall entry the platform registers with the hypervisor.
extern "C" void upcall();

void bind(EvtchnPort port, Handler handler, void* data);
void unbind(EvtchnPort port);
Result<EvtchnPort> bind_virq(uint32_t virq, Handler handler, void* data);
Result<EvtchnPort> alloc_unbound(DomId remote);
Result<EvtchnPort> bind_interdomain(DomId remote, EvtchnPort remote_port);
Result<void> send(EvtchnPort port);
// Notifies `port` before this vCPU next switches threads or goes idle, not
// now: the notifications a thread raises while it runs cost one hypercall
// each at its next switch, or ride on the idle loop's block (one multicall
// for all of them). For drivers whose peer only needs to hear of work by
// the time the guest waits (netfront's transmit kicks).
void send_deferred(EvtchnPort port);
// Sends what send_deferred() queued (the scheduler calls it).
void flush_deferred();
// Hands the queued ports to the idle loop, which sends them with its block.
unsigned take_deferred(uint32_t* out, unsigned max);
Result<void> close(EvtchnPort port);
void mask(EvtchnPort port);
void unmask(EvtchnPort port);
bool is_pending(EvtchnPort port);
void clear(EvtchnPort port);
// Events dispatched to handlers since boot.
uint64_t dispatched_count();

// "Interrupt" control: masking upcalls on the vCPU. Restoring to enabled runs any
// upcall that arrived meanwhile.
uint8_t upcalls_disable();
bool upcalls_masked();
void upcalls_restore(uint8_t previous);

class UpcallGuard {
 public:
  UpcallGuard() : m_previous(upcalls_disable()) {}
  ~UpcallGuard() { upcalls_restore(m_previous); }
  UpcallGuard(const UpcallGuard&) = delete;
  UpcallGuard& operator=(const UpcallGuard&) = delete;

 private:
  uint8_t m_previous;
};

}  // namespace atl::evtchn
