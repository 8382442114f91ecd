// netfront's xenbus side: the ring keys and features it writes, the backend's
// keys it reads (mac, ip), and probe() over device/vif. Net devices connect
// directly: the frontend goes from Initialising to Connected once its keys are
// written (docs/xenbus.md).
#include <stdio.h>
#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include "atoll/kernel.h"
#include "atoll/mac_address.h"
#include "atoll/time.h"
#include "atoll/xenbus_probe.h"
#include "atoll/xenstore.h"
#include "netfront.h"

namespace atl::net {
namespace {

std::vector<std::unique_ptr<NetFront>>* g_devices;
// A line on the console every 5 s while the backend is slow; give up after 300 s.
constexpr uint64_t kConnectReportNs = 5'000'000'000ULL;
constexpr uint64_t kConnectGiveUpNs = 300'000'000'000ULL;

uint32_t parse_ipv4(const char* text) {
  unsigned a, b, c, d;
  if (sscanf(text, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || a > 255 || b > 255 || c > 255 || d > 255) return 0;
  // Network byte order on a little-endian guest.
  return a | (b << 8) | (c << 16) | (d << 24);
}

// The backend's `ip` key, Mini-OS's form: "ADDRESS NETMASK GATEWAY", with
// our optional fourth field: a DNS server.
std::optional<StaticIp> parse_static_ip(const std::string& text) {
  char addr[16], mask[16], gw[16], dns[16];
  int fields = sscanf(text.c_str(), "%15s %15s %15s %15s", addr, mask, gw, dns);
  if (fields < 3) return std::nullopt;
  StaticIp ip{parse_ipv4(addr), parse_ipv4(mask), parse_ipv4(gw), fields == 4 ? parse_ipv4(dns) : 0};
  if (!ip.address) return std::nullopt;
  return ip;
}

}  // namespace

Result<std::unique_ptr<NetFront>> NetFront::try_create(xs::Client& client, const std::string& device_path) {
  std::unique_ptr<NetFront> front(new NetFront);
  auto device = xs::XenbusDevice::try_create(client, device_path, *front, xs::Handshake::kConnectDirectly);
  if (!device.ok()) return device.error();
  front->m_device = std::move(device.value());
  if (auto r = front->m_device->start(); !r.ok()) return r.error();
  return front;
}

NetFront::~NetFront() { m_device.reset(); }

Result<void> NetFront::wait_connected(uint64_t deadline_ns) {
  sched::wait_until(m_state_waiters, [this] { return m_handshake_done; }, deadline_ns);
  if (m_connected) return {};
  if (auto e = m_device->error()) return *e;
  return m_handshake_done ? Errno::kNoDev : Errno::kTimedOut;
}

Result<void> NetFront::close(uint64_t deadline_ns) {
  m_device->close();
  sched::wait_until(m_state_waiters, [this] { return m_rings_freed; }, deadline_ns);
  return m_rings_freed ? Result<void>() : Result<void>(Errno::kTimedOut);
}

Result<void> NetFront::reopen(uint64_t deadline_ns) {
  m_handshake_done = false;
  m_device->reopen();
  return wait_connected(deadline_ns);
}

Result<void> NetFront::on_backend_ready(xs::XenbusDevice& device) {
  m_rings_freed = false;
  // As many queues as both sides allow; a backend without the key has one.
  // One queue uses the flat keys, more the queue-N/ directories.
  unsigned queues = 1;
  if (auto max = device.client().read(device.backend_key("multi-queue-max-queues")); max.ok()) {
    unsigned long n = strtoul(max->c_str(), nullptr, 10);
    if (n > 1) queues = n < kMaxQueues ? static_cast<unsigned>(n) : kMaxQueues;
  }
  bool multi = queues > 1;
  auto feature = [&device](const char* key) {
    auto v = device.client().read(device.backend_key(key));
    return v.ok() && strtoul(v->c_str(), nullptr, 10) == 1;
  };
  m_offloads.sg = feature("feature-sg");
  m_offloads.tso4 = m_offloads.sg && feature("feature-gso-tcpv4");
  m_offloads.tso6 = m_offloads.sg && feature("feature-gso-tcpv6");
  m_offloads.ipv6_csum = feature("feature-ipv6-csum-offload");
  if (auto r = setup_rings(device.backend_id(), queues); !r.ok()) return r;
  return xs::transact(device.client(), [&](xs::Transaction& t) -> Result<void> {
    for (auto [key, value] : {std::pair<const char*, std::string>{"request-rx-copy", "1"},
                              {"feature-rx-notify", "1"},
                              // On receive: packets over several pages, coalesced
                              // TCP streams (GSO) and blank checksums are welcome.
                              {"feature-sg", "1"},
                              {"feature-gso-tcpv4", "1"},
                              {"feature-gso-tcpv6", "1"},
                              {"feature-no-csum-offload", "0"},
                              {"feature-ipv6-csum-offload", "1"}}) {
      if (auto r = t.write(device.key(key), value); !r.ok()) return r;
    }
    if (multi) {
      if (auto r = t.write(device.key("multi-queue-num-queues"), std::to_string(queues)); !r.ok()) return r;
    }
    for (unsigned i = 0; i < queues; ++i) {
      const Queue& q = m_queues[i];
      std::string dir = multi ? "queue-" + std::to_string(i) + "/" : "";
      for (auto [key, value] : {std::pair<const char*, std::string>{"tx-ring-ref", std::to_string(q.tx_ref->value())},
                                {"rx-ring-ref", std::to_string(q.rx_ref->value())},
                                {"event-channel", std::to_string(q.port->value())}}) {
        if (auto r = t.write(device.key(dir + key), value); !r.ok()) return r;
      }
    }
    return Result<void>();
  });
}

Result<void> NetFront::on_connected(xs::XenbusDevice& device) {
  xs::Client& c = device.client();
  auto mac = c.read(device.key("mac"));
  if (!mac.ok()) mac = c.read(device.backend_key("mac"));
  auto parsed = mac.ok() ? parse_mac(*mac) : std::nullopt;
  if (!parsed) return Errno::kInval;
  m_mac = *parsed;
  if (auto ip = c.read(device.backend_key("ip")); ip.ok()) m_static_ip = parse_static_ip(*ip);
  m_connected = true;
  post_rx_buffers();
  m_handshake_done = true;
  m_state_waiters.wake_all();
  return {};
}

void NetFront::on_closing(xs::XenbusDevice&) {
  m_connected = false;
  m_tx_waiters.wake_all();
  m_rx_waiters.wake_all();
  m_state_waiters.wake_all();
}

void NetFront::on_closed(xs::XenbusDevice& device) {
  m_connected = false;
  free_rings();
  m_rings_freed = true;
  if (device.error()) m_handshake_done = true;
  m_tx_waiters.wake_all();
  m_rx_waiters.wake_all();
  m_state_waiters.wake_all();
}

Result<unsigned> probe() {
  if (!g_devices) g_devices = new std::vector<std::unique_ptr<NetFront>>;
  return xs::probe_devices(*g_devices, "vif", "netfront", kConnectReportNs, kConnectGiveUpNs);
}

NetFront* device(unsigned index) {
  if (!g_devices || index >= g_devices->size()) return nullptr;
  return (*g_devices)[index].get();
}

}  // namespace atl::net
