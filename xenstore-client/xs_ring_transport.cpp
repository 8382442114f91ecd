#include "xs_ring_transport.h"

#include "atoll/evtchn.h"

namespace atl::xs {

static_assert(sizeof(xenstore_domain_interface) <= 4096, "the xenstore interface fits its page");

RingTransport::RingTransport(xenstore_domain_interface* ring, EvtchnPort port)
    : m_req(reinterpret_cast<volatile char*>(ring->req), &ring->req_cons, &ring->req_prod),
      m_rsp(reinterpret_cast<volatile char*>(ring->rsp), &ring->rsp_cons, &ring->rsp_prod),
      m_port(port) {}

void RingTransport::bind() { evtchn::bind(m_port, on_event, this); }

// Interrupt context: only wakes threads, which then read the ring themselves.
void RingTransport::on_event(EvtchnPort, void* self) {
  static_cast<RingTransport*>(self)->m_waiters.wake_all();
}

size_t RingTransport::write(const void* data, size_t length) {
  size_t n = m_req.write(data, length);
  // ORDERING: write() published req_prod with release after the bytes; the daemon
  // reads req_prod after the event, so it sees the whole request.
  if (n > 0) (void)evtchn::send(m_port);
  return n;
}

size_t RingTransport::read(void* data, size_t length) {
  uint32_t cons_before = m_rsp.load_cons();
  size_t n = m_rsp.read(data, length);
  if (n == 0) return 0;
  // ORDERING: the daemon waits for an event only when it finds the ring full.
  // The fence orders our cons update before the re-read of prod; if the ring was
  // full at any point since cons_before, the daemon may be waiting: tell it
  // (Linux's xb_read does the same).
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (m_rsp.load_prod() - cons_before >= XENSTORE_RING_SIZE) (void)evtchn::send(m_port);
  return n;
}

bool RingTransport::wait(const std::function<bool()>& ready) {
  sched::wait_until(m_waiters, [&] { return ready() || !sane(); });
  return sane();
}

}  // namespace atl::xs
