// A domain's event-channel table: which ports exist and what each is bound to.
// The pending/mask bits themselves live in the guest's shared_info
// (atoll/evtchn_bits.h); this table is the hypervisor-private half, which the
// guest can only change through EVTCHNOP_* hypercalls.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>
#include <xen/event_channel.h>

#include "atoll/result.h"
#include "atoll/types.h"

namespace atl::hv {

enum class ChannelState : uint8_t { kFree, kReserved, kUnbound, kInterdomain, kVirq, kIpi };

struct Channel {
  ChannelState state = ChannelState::kFree;
  uint16_t remote_domid = 0;   // kUnbound: who may bind; kInterdomain: the peer
  uint32_t remote_port = 0;    // kInterdomain
  uint32_t virq = 0;           // kVirq
  uint32_t vcpu = 0;
};

class EvtchnTable {
 public:
  static constexpr unsigned kMaxPorts = 4096;  // the 2-level ABI's limit
  explicit EvtchnTable(DomId self, unsigned max_ports = kMaxPorts);

  Result<EvtchnPort> alloc_unbound(DomId remote);
  Result<EvtchnPort> bind_virq(uint32_t virq, uint32_t vcpu);
  Result<EvtchnPort> bind_ipi(uint32_t vcpu);
  // Binds a new local port to `remote_port` of `peer`, which must be unbound and
  // waiting for this domain. Both tables are updated (they may be the same table).
  Result<EvtchnPort> bind_interdomain(EvtchnTable& peer, EvtchnPort remote_port);
  // Channels whose other end is not a domain's table but a backend inside the
  // hypervisor (domain 0): a new port already connected to backend port
  // `remote_port`, or an unbound port (waiting for `remote`) connected now.
  Result<EvtchnPort> alloc_connected(DomId remote, uint32_t remote_port);
  Result<void> connect_unbound(EvtchnPort local, DomId remote, uint32_t remote_port);
  // Closes `port`; an interdomain peer's end falls back to unbound, as in Xen.
  Result<void> close(EvtchnPort port, EvtchnTable* peer);
  // The other end, port `remote_port` of `remote`, was closed: a channel
  // still bound to it falls back to unbound, waiting for `remote` again.
  void unbind_remote(DomId remote, uint32_t remote_port);

  const Channel* lookup(EvtchnPort port) const;
  std::optional<EvtchnPort> virq_port(uint32_t virq) const;
  DomId self() const { return m_self; }
  unsigned open_count() const;

 private:
  Result<EvtchnPort> allocate();
  std::vector<Channel> m_channels;
  std::vector<int32_t> m_virq_ports;  // by virq number; -1 when unbound
  DomId m_self;
  unsigned m_max_ports;
};

}  // namespace atl::hv
