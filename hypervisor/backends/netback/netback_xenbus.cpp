// netback's xenstore side: the vif directories and the backend's feature keys
// (xen/io/netif.h), and the backend half of the xenbus handshake: InitWait,
// connect every queue when the frontend is Connected (net frontends skip
// Initialised), follow its Closing/Closed, offer InitWait again on reconnect.
#include <arpa/inet.h>

#include <cstdio>

#include "xenbus_backend.h"
#include "netback.h"

namespace atl::hv {
namespace {

std::string static_ip_key(const VifConfig& vif) {
  // Mini-OS's form: "ADDRESS NETMASK GATEWAY".
  size_t slash = vif.ip.find('/');
  unsigned len = static_cast<unsigned>(std::stoul(vif.ip.substr(slash + 1)));
  uint32_t mask = len == 0 ? 0 : htonl(~0u << (32 - len));
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &mask, buf, sizeof buf);
  return vif.ip.substr(0, slash) + " " + buf + " " + (vif.gateway.empty() ? "0.0.0.0" : vif.gateway);
}

}  // namespace

std::unique_ptr<NetBack> NetBack::try_create(Domain& domain, xs::Xenstored& store, EventLoop& loop,
                                             const VifConfig& vif, uint32_t devid, FramePort& uplink,
                                             std::string&) {
  std::unique_ptr<NetBack> b(new NetBack(domain, store, loop, vif, devid, uplink));
  if (!b->m_vif.mac_given) b->m_vif.mac = default_mac(domain.domid(), devid);
  std::string n = std::to_string(devid);
  std::string mac = format_mac(b->m_vif.mac);
  bool gso = uplink.takes_large_frames() || uplink.intercepts();  // the forwards are IPv4
  std::map<std::string, std::string> keys = {
      {"mac", mac},
      {"handle", n},
      {"feature-sg", "1"},
      {"feature-rx-copy", "1"},
      {"feature-rx-flip", "0"},
      {"feature-split-event-channels", "1"},
      {"feature-ipv6-csum-offload", "1"},
      {"multi-queue-max-queues", std::to_string(kMaxQueues)},
      // TSO only where the uplink takes GSO packets whole (a TAP with a
      // vnet header, whose kernel segments them; passt, which needs no
      // segments at all; the hypervisor's own TCP forwards in front of
      // slirp). Through slirp alone or the switch it measured slower (22
      // against 52 MB/s, bench/RESULTS.md): the far end's window then holds
      // a segment or two of 64 KiB, so the guest sends in bursts and waits.
      // A guest that sends GSO anyway is segmented here (gso.cpp).
      {"feature-gso-tcpv4", gso ? "1" : "0"},
      {"feature-gso-tcpv6", uplink.takes_large_frames() ? "1" : "0"},
  };
  if (!vif.ip.empty()) keys["ip"] = static_ip_key(vif);
  else if (!uplink.guest_ip().empty()) keys["ip"] = uplink.guest_ip();
  b->publish(keys, {{"mac", mac}, {"handle", n}});
  NetBack* self = b.get();
  b->m_uplink.set_receiver(
      [self](std::span<const uint8_t> frame, const FrameOffload& offload) { self->on_uplink_frame(frame, offload); });
  // Frames wait in the uplink until the guest's rings exist (fill_rx, once
  // connected, lets them in): a TCP SYN passt forwards while the guest boots
  // is not lost (passt does not send it again for 10 s).
  b->m_uplink.set_paused(true);
  if (uplink.leaves_handshakes_open()) b->m_handshakes.emplace();
  b->m_uplink.set_on_hangup([self] {
    fprintf(stderr, "atoll: dom%u vif %u: the uplink (%s) went away\n", self->m_domain.domid(), self->m_devid,
            self->m_uplink.what().c_str());
  });
  return b;
}

NetBack::~NetBack() {
  const VifCounters& c = m_counters;
  m_domain.log("vif %u: tx %llu packets %llu bytes (%llu GSO, %llu errors, %llu spoofed, %llu throttled); "
               "rx %llu packets %llu bytes (%llu GSO, %llu dropped); uplink dropped %llu",
               m_devid, (unsigned long long)c.tx_packets, (unsigned long long)c.tx_bytes,
               (unsigned long long)c.tx_gso, (unsigned long long)c.tx_errors, (unsigned long long)c.tx_spoofed,
               (unsigned long long)c.tx_throttled, (unsigned long long)c.rx_packets, (unsigned long long)c.rx_bytes,
               (unsigned long long)c.rx_gso, (unsigned long long)c.rx_dropped, (unsigned long long)m_uplink.dropped());
  m_uplink.set_receiver(nullptr);
  m_uplink.set_paused(false);  // a restarted domain reads it again; held frames go nowhere
  m_uplink.set_on_hangup(nullptr);
  disconnect();
}

Result<void> NetBack::connect_from_keys() {
  auto read_u32 = [this](const std::string& path) -> std::optional<uint32_t> {
    auto v = m_store.read(path);
    return v.ok() ? parse_u32(v.value()) : std::nullopt;
  };
  if (read_u32(m_fe_path + "/request-rx-copy").value_or(0) != 1) return Errno::kOpNotSupp;  // no page flipping
  // What the frontend takes on rx. Unlike Linux's netback, a frontend that
  // wrote no feature-no-csum-offload gets complete checksums: it may predate
  // NETRXF_csum_blank here and would take a pseudo-header sum for a checksum.
  auto flag = [&](const char* key, uint32_t absent) { return read_u32(m_fe_path + "/" + key).value_or(absent) != 0; };
  m_fe.sg = flag("feature-sg", 0);
  m_fe.gso_tcpv4 = flag("feature-gso-tcpv4", 0);
  m_fe.gso_tcpv6 = flag("feature-gso-tcpv6", 0);
  m_fe.csum_blank = !flag("feature-no-csum-offload", 1);
  m_fe.ipv6_csum_blank = flag("feature-ipv6-csum-offload", 0);
  auto nr = read_u32(m_fe_path + "/multi-queue-num-queues");
  unsigned queues = nr.value_or(1);
  if (queues == 0 || queues > kMaxQueues) return Errno::kInval;
  for (unsigned i = 0; i < queues; ++i) {
    std::string dir = nr ? m_fe_path + "/queue-" + std::to_string(i) : m_fe_path;
    auto tx_ref = read_u32(dir + "/tx-ring-ref");
    auto rx_ref = read_u32(dir + "/rx-ring-ref");
    auto shared = read_u32(dir + "/event-channel");
    auto tx_port = shared ? shared : read_u32(dir + "/event-channel-tx");
    auto rx_port = shared ? shared : read_u32(dir + "/event-channel-rx");
    if (!tx_ref || !rx_ref || !tx_port || !rx_port) return Errno::kNoEnt;
    QueueKeys keys{GrantRef(*tx_ref), GrantRef(*rx_ref), EvtchnPort(*tx_port), EvtchnPort(*rx_port)};
    if (auto r = connect_queue(keys); !r.ok()) return r;
  }
  return {};
}

void NetBack::on_connected() {
  drain_every_tx();  // requests queued before we connected
  fill_rx();
}

}  // namespace atl::hv
