// The guest's xenstore Transport: the ring page the boot info names (ABI:
// xen/io/xs_wire.h, struct xenstore_domain_interface) and its event channel.
#pragma once

#include <xen/io/xs_wire.h>

#include "atoll/byte_ring.h"
#include "atoll/sched.h"
#include "atoll/types.h"
#include "atoll/xenstore.h"

namespace atl::xs {

class RingTransport final : public Transport {
 public:
  RingTransport(xenstore_domain_interface* ring, EvtchnPort port);

  // Binds the event channel: from then on the daemon's notifications wake waiters.
  void bind();
  // False once the daemon left indices no ring can have; the connection is dead.
  bool sane() const { return m_req.sane() && m_rsp.sane(); }

  size_t write(const void* data, size_t length) override;
  size_t read(void* data, size_t length) override;
  bool readable() override { return m_rsp.readable() > 0; }
  bool writable() override { return m_req.writable() > 0; }
  bool wait(const std::function<bool()>& ready) override;
  void wake_waiters() override { m_waiters.wake_all(); }

 private:
  static void on_event(EvtchnPort port, void* self);

  ByteRingView<XENSTORE_RING_SIZE> m_req;  // we produce, the daemon consumes
  ByteRingView<XENSTORE_RING_SIZE> m_rsp;  // the daemon produces, we consume
  EvtchnPort m_port;
  sched::WaitQueue m_waiters;
};

}  // namespace atl::xs
