#include "xs_ring.h"

#include <algorithm>

#include "atoll/byte_ring.h"

namespace atl::hv::xs {

namespace {

using XsRing = ByteRingView<XENSTORE_RING_SIZE>;

// The daemon consumes `req` and produces `rsp`.
XsRing request_ring(xenstore_domain_interface* i) { return XsRing(i->req, &i->req_cons, &i->req_prod); }
XsRing response_ring(xenstore_domain_interface* i) { return XsRing(i->rsp, &i->rsp_cons, &i->rsp_prod); }

// ORDERING: the guest reads `connection`/`error` after our notification and
// must see the indices we reset first, so these are release stores; `connection`
// is read with acquire so the guest's reset request is ordered before our reset.
uint32_t load_field(const uint32_t* field) { return __atomic_load_n(field, __ATOMIC_ACQUIRE); }
void store_field(uint32_t* field, uint32_t v) { __atomic_store_n(field, v, __ATOMIC_RELEASE); }

}  // namespace

RingConnection::RingConnection(Core& core, DomId domid, void* ring_page,
                               std::function<void()> notify_guest)
    : Connection(domid, core.flush_list()),
      m_core(core),
      m_intf(static_cast<xenstore_domain_interface*>(ring_page)),
      m_notify(std::move(notify_guest)) {
  set_output_limit(core.options().max_output_bytes);
  store_field(&m_intf->server_features,
              XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR);
}

RingConnection::~RingConnection() { m_core.disconnect(*this); }

bool RingConnection::rings_sane() const {
  return request_ring(m_intf).sane() && response_ring(m_intf).sane();
}

RingConnection::Poll RingConnection::on_event() {
  if (load_field(&m_intf->connection) == XENSTORE_RECONNECT) reconnect();
  if (m_broken) return Poll::kIdle;
  if (!rings_sane()) {
    break_ring(XENSTORE_ERROR_RINGIDX);
    return Poll::kIdle;
  }
  flush();  // the guest may have made room for output waiting here
  XsRing req = request_ring(m_intf);
  const XsOptions& opt = m_core.options();
  uint32_t handled = 0;
  char buf[XENSTORE_RING_SIZE];
  while (handled < opt.max_requests_per_event && pending_output() < opt.output_pause_bytes &&
         !m_broken && !failed()) {
    size_t n = req.read(buf, std::min<size_t>(m_in.want(), sizeof(buf)));
    if (n == 0) break;
    m_consumed = true;
    m_in.feed(buf, n);
    if (m_in.broken()) {
      break_ring(XENSTORE_ERROR_PROTO);
      return Poll::kIdle;
    }
    if (m_in.ready()) {
      m_core.handle(*this, m_in.take());
      ++handled;
    }
  }
  flush();
  if (m_broken || pending_output() >= opt.output_pause_bytes) return Poll::kIdle;
  return req.readable() > 0 ? Poll::kMore : Poll::kIdle;
}

void RingConnection::flush() {
  if (m_broken) return;
  if (failed()) return break_ring(XENSTORE_ERROR_COMM);
  if (!rings_sane()) return break_ring(XENSTORE_ERROR_RINGIDX);
  XsRing rsp = response_ring(m_intf);
  bool wrote = false;
  while (!m_out.empty()) {
    const std::string& front = m_out.front();
    size_t n = rsp.write(front.data() + m_out_offset, front.size() - m_out_offset);
    if (n == 0) break;
    consumed(n);
    wrote = true;
  }
  if (wrote || m_consumed) {
    m_consumed = false;
    m_notify();
  }
}

// The guest asked to start over (xenstore-ring.txt): forget its watches,
// transactions and half-read messages, zero all four indices, say connected.
void RingConnection::reconnect() {
  m_core.disconnect(*this);
  m_in.reset();
  discard_output();
  m_broken = false;
  m_consumed = false;
  store_field(&m_intf->req_cons, 0);
  store_field(&m_intf->req_prod, 0);
  store_field(&m_intf->rsp_cons, 0);
  store_field(&m_intf->rsp_prod, 0);
  store_field(&m_intf->error, XENSTORE_ERROR_NONE);
  store_field(&m_intf->connection, XENSTORE_CONNECTED);
  m_notify();
}

void RingConnection::break_ring(uint32_t error) {
  m_broken = true;
  m_core.disconnect(*this);
  m_in.reset();
  discard_output();
  fail();  // nothing more is queued for a broken ring
  store_field(&m_intf->error, error);
  m_notify();
}

}  // namespace atl::hv::xs
