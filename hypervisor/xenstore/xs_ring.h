// A guest's xenstore connection over its ring page (xen/io/xs_wire.h, struct
// xenstore_domain_interface): requests arrive on the `req` byte ring, replies
// and watch events leave on `rsp`, and the guest's event channel says when to
// look. The page is shared with the guest, so every index in it is hostile:
// an impossible one (prod - cons beyond the ring size) or an oversize message
// stops this connection, records the reason in the page's `error` field, and
// leaves every other domain untouched. The guest can start over with the
// reconnect handshake (`connection` = XENSTORE_RECONNECT).
#pragma once

#include <functional>
#include <xen/io/xs_wire.h>

#include "xenstored_core.h"
#include "xs_connection.h"
#include "xs_wire.h"

namespace atl::hv::xs {

// ABI: xen/io/xs_wire.h, struct xenstore_domain_interface, at the start of
// the guest's 4 KiB xenstore page.
static_assert(offsetof(xenstore_domain_interface, rsp) == XENSTORE_RING_SIZE);
static_assert(offsetof(xenstore_domain_interface, req_cons) == 2 * XENSTORE_RING_SIZE);
static_assert(offsetof(xenstore_domain_interface, rsp_prod) == 2 * XENSTORE_RING_SIZE + 12);
static_assert(offsetof(xenstore_domain_interface, server_features) == 2 * XENSTORE_RING_SIZE + 16);
static_assert(offsetof(xenstore_domain_interface, error) == 2 * XENSTORE_RING_SIZE + 24);
static_assert(sizeof(xenstore_domain_interface) <= 4096);

class RingConnection : public Connection {
 public:
  // Advertises reconnection and the error field in `server_features`.
  RingConnection(Core& core, DomId domid, void* ring_page, std::function<void()> notify_guest);
  ~RingConnection() override;

  enum class Poll : uint8_t { kIdle, kMore };
  // The guest notified us: push pending output, then take up to the per-event
  // budget of requests. kMore means requests are still waiting in the ring.
  Poll on_event();
  void flush() override;
  // Stopped for a protocol violation until the guest reconnects.
  bool broken() const { return m_broken; }

 private:
  void reconnect();
  // Stops serving the ring (XENSTORE_ERROR_* in `error`).
  void break_ring(uint32_t error);
  bool rings_sane() const;

  Core& m_core;
  xenstore_domain_interface* m_intf;
  std::function<void()> m_notify;
  MessageAssembler m_in;
  bool m_broken = false;
  bool m_consumed = false;  // took request bytes the guest may wait to reuse
};

}  // namespace atl::hv::xs
