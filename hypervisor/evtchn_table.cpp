#include "evtchn_table.h"

#include <xen/xen.h>

namespace atl::hv {

EvtchnTable::EvtchnTable(DomId self, unsigned max_ports)
    : m_virq_ports(NR_VIRQS, -1), m_self(self), m_max_ports(max_ports > kMaxPorts ? kMaxPorts : max_ports) {
  m_channels.resize(1);
  m_channels[0].state = ChannelState::kReserved;  // port 0 is never valid, as in Xen
}

Result<EvtchnPort> EvtchnTable::allocate() {
  for (uint32_t p = 1; p < m_channels.size(); ++p)
    if (m_channels[p].state == ChannelState::kFree) return EvtchnPort(p);
  if (m_channels.size() >= m_max_ports) return Errno::kNoSpc;
  m_channels.emplace_back();
  return EvtchnPort(static_cast<uint32_t>(m_channels.size() - 1));
}

const Channel* EvtchnTable::lookup(EvtchnPort port) const {
  if (port.value() >= m_channels.size()) return nullptr;
  const Channel& c = m_channels[port.value()];
  return c.state == ChannelState::kFree || c.state == ChannelState::kReserved ? nullptr : &c;
}

Result<EvtchnPort> EvtchnTable::alloc_unbound(DomId remote) {
  auto port = allocate();
  if (!port.ok()) return port;
  Channel& c = m_channels[port->value()];
  c = Channel{};
  c.state = ChannelState::kUnbound;
  c.remote_domid = remote.value();
  return port;
}

Result<EvtchnPort> EvtchnTable::bind_virq(uint32_t virq, uint32_t vcpu) {
  if (virq >= NR_VIRQS) return Errno::kInval;
  if (vcpu != 0) return Errno::kNoEnt;  // one vCPU per domain
  if (m_virq_ports[virq] >= 0) return Errno::kExist;
  auto port = allocate();
  if (!port.ok()) return port;
  Channel& c = m_channels[port->value()];
  c = Channel{};
  c.state = ChannelState::kVirq;
  c.virq = virq;
  m_virq_ports[virq] = static_cast<int32_t>(port->value());
  return port;
}

Result<EvtchnPort> EvtchnTable::bind_ipi(uint32_t vcpu) {
  if (vcpu != 0) return Errno::kNoEnt;
  auto port = allocate();
  if (!port.ok()) return port;
  m_channels[port->value()] = Channel{};
  m_channels[port->value()].state = ChannelState::kIpi;
  return port;
}

Result<EvtchnPort> EvtchnTable::bind_interdomain(EvtchnTable& peer, EvtchnPort remote_port) {
  if (remote_port.value() >= peer.m_channels.size()) return Errno::kInval;
  Channel& remote = peer.m_channels[remote_port.value()];
  if (remote.state != ChannelState::kUnbound || remote.remote_domid != m_self.value()) return Errno::kInval;
  auto port = allocate();
  if (!port.ok()) return port;
  // `allocate` may have grown our vector; when peer is this table, re-take the reference.
  Channel& remote_now = peer.m_channels[remote_port.value()];
  Channel& local = m_channels[port->value()];
  local = Channel{};
  local.state = ChannelState::kInterdomain;
  local.remote_domid = peer.m_self.value();
  local.remote_port = remote_port.value();
  remote_now.state = ChannelState::kInterdomain;
  remote_now.remote_domid = m_self.value();
  remote_now.remote_port = port->value();
  return port;
}

Result<EvtchnPort> EvtchnTable::alloc_connected(DomId remote, uint32_t remote_port) {
  auto port = allocate();
  if (!port.ok()) return port;
  Channel& c = m_channels[port->value()];
  c = Channel{};
  c.state = ChannelState::kInterdomain;
  c.remote_domid = remote.value();
  c.remote_port = remote_port;
  return port;
}

Result<void> EvtchnTable::connect_unbound(EvtchnPort local, DomId remote, uint32_t remote_port) {
  if (local.value() >= m_channels.size()) return Errno::kInval;
  Channel& c = m_channels[local.value()];
  if (c.state != ChannelState::kUnbound || c.remote_domid != remote.value()) return Errno::kInval;
  c.state = ChannelState::kInterdomain;
  c.remote_port = remote_port;
  return {};
}

Result<void> EvtchnTable::close(EvtchnPort port, EvtchnTable* peer) {
  if (port.value() == 0 || port.value() >= m_channels.size()) return Errno::kInval;
  Channel& c = m_channels[port.value()];
  switch (c.state) {
    case ChannelState::kFree:
    case ChannelState::kReserved:
      return Errno::kInval;
    case ChannelState::kVirq:
      m_virq_ports[c.virq] = -1;
      break;
    case ChannelState::kInterdomain:
      if (peer && c.remote_port < peer->m_channels.size()) {
        Channel& r = peer->m_channels[c.remote_port];
        if (r.state == ChannelState::kInterdomain && r.remote_port == port.value() &&
            r.remote_domid == m_self.value()) {
          r.state = ChannelState::kUnbound;
          r.remote_domid = m_self.value();
          r.remote_port = 0;
        }
      }
      break;
    default:
      break;
  }
  c = Channel{};
  return {};
}

void EvtchnTable::unbind_remote(DomId remote, uint32_t remote_port) {
  for (Channel& c : m_channels)
    if (c.state == ChannelState::kInterdomain && c.remote_domid == remote.value() && c.remote_port == remote_port) {
      c.state = ChannelState::kUnbound;
      c.remote_port = 0;
    }
}

std::optional<EvtchnPort> EvtchnTable::virq_port(uint32_t virq) const {
  if (virq >= NR_VIRQS || m_virq_ports[virq] < 0) return std::nullopt;
  return EvtchnPort(static_cast<uint32_t>(m_virq_ports[virq]));
}

unsigned EvtchnTable::open_count() const {
  unsigned n = 0;
  for (auto& c : m_channels)
    if (c.state != ChannelState::kFree && c.state != ChannelState::kReserved) ++n;
  return n;
}

}  // namespace atl::hv
