// lwIP's network interfaces over netfront, and the stack's bring-up
// (atoll/net.h). Each vif gets an lwIP netif whose linkoutput hands the pbuf
// chain to NetFront::transmit (one copy, into the persistently granted tx
// buffer) and a receive thread that sleeps on the device's events (any of its
// queues) and feeds each batch of frames to ethernet_input under one hold of
// the core lock.
#include <stdio.h>
#include <string.h>

#include <memory>
#include <span>
#include <vector>

#include "atoll/kernel.h"
#include "atoll/net.h"
#include "atoll/sched.h"
#include "atoll/time.h"
#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "netif/ethernet.h"
#include "lwip/ethip6.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"
#include "netfront.h"

namespace atl::net {
namespace {

constexpr uint64_t kDhcpTimeoutNs = 10'000'000'000ULL;
constexpr unsigned kMaxGather = 16;

struct Vif {
  netif nif{};
  NetFront* front = nullptr;
  bool dhcp = false;
};

std::vector<std::unique_ptr<Vif>>* g_vifs;
bool g_started = false;
Result<void> g_result;

err_t linkoutput(netif* nif, pbuf* p) {
  auto* front = static_cast<NetFront*>(nif->state);
  std::span<const uint8_t> pieces[kMaxGather];
  unsigned n = 0;
  for (pbuf* q = p; q; q = q->next) {
    if (n == kMaxGather) {  // a long chain: flatten it
      static uint8_t flat[NetFront::kMaxFrame];
      if (p->tot_len > sizeof flat) return ERR_IF;
      pbuf_copy_partial(p, flat, p->tot_len, 0);
      pieces[0] = {flat, p->tot_len};
      n = 1;
      break;
    }
    pieces[n++] = {static_cast<const uint8_t*>(q->payload), q->len};
  }
  // Deferred: UNLOCK_TCPIP_CORE() flushes (lwipopts.h).
  return front->transmit({pieces, n}, true).ok() ? ERR_OK : ERR_IF;
}

err_t vif_init(netif* nif) {
  auto* front = static_cast<NetFront*>(nif->state);
  nif->name[0] = 'e';
  nif->name[1] = 'n';
  nif->output = etharp_output;
  nif->output_ip6 = ethip6_output;
  nif->linkoutput = linkoutput;
  nif->mtu = 1500;
  nif->hwaddr_len = 6;
  memcpy(nif->hwaddr, front->mac().data(), 6);
  nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_IGMP | NETIF_FLAG_MLD6;
  netif_set_hostname(nif, "atoll");
  return ERR_OK;
}

void rx_thread(void* arg) {
  auto* vif = static_cast<Vif*>(arg);
  NetFront& front = *vif->front;
  for (;;) {
    sched::wait_until(front.rx_waiters(), [&front] { return front.rx_pending(); });
    // One hold of the core lock for the whole batch: the replies the stack
    // sends meanwhile reach the backend with one notification, at the unlock.
    LOCK_TCPIP_CORE();
    front.poll_rx([vif](std::span<const uint8_t> frame) {
      pbuf* p = pbuf_alloc(PBUF_RAW, static_cast<u16_t>(frame.size()), PBUF_POOL);
      if (!p) return;  // out of memory: the frame is lost, TCP resends
      pbuf_take(p, frame.data(), static_cast<u16_t>(frame.size()));
      if (vif->nif.input(p, &vif->nif) != ERR_OK) pbuf_free(p);
    });
    UNLOCK_TCPIP_CORE();
  }
}

void tcpip_ready(void* arg) { sys_sem_signal(static_cast<sys_sem_t*>(arg)); }

void add_vif(NetFront* front) {
  auto vif = std::make_unique<Vif>();
  vif->front = front;
  ip4_addr_t addr{}, mask{}, gw{};
  if (front->static_ip()) {
    addr.addr = front->static_ip()->address;
    mask.addr = front->static_ip()->netmask;
    gw.addr = front->static_ip()->gateway;
  } else {
    vif->dhcp = true;
  }
  LOCK_TCPIP_CORE();
  // The rx thread holds the core lock already: frames go straight to ethernet_input.
  netif_add(&vif->nif, &addr, &mask, &gw, front, vif_init, ethernet_input);
  if (g_vifs->empty()) netif_set_default(&vif->nif);
  netif_create_ip6_linklocal_address(&vif->nif, 1);
  netif_set_ip6_autoconfig_enabled(&vif->nif, 1);
  netif_set_up(&vif->nif);
  netif_set_link_up(&vif->nif);
  if (vif->dhcp) dhcp_start(&vif->nif);
  UNLOCK_TCPIP_CORE();
  sched::create("netfront-rx", rx_thread, vif.get());
  g_vifs->push_back(std::move(vif));
}

void report(const Vif& vif, uint64_t elapsed_ns) {
  const uint8_t* m = vif.nif.hwaddr;
  char a[16], n[16], g[16], d[16] = "-";
  ip4addr_ntoa_r(netif_ip4_addr(&vif.nif), a, sizeof a);
  ip4addr_ntoa_r(netif_ip4_netmask(&vif.nif), n, sizeof n);
  ip4addr_ntoa_r(netif_ip4_gw(&vif.nif), g, sizeof g);
  if (const ip_addr_t* dns = dns_getserver(0); dns && !ip_addr_isany(dns)) ipaddr_ntoa_r(dns, d, sizeof d);
  bool has = !ip4_addr_isany_val(*netif_ip4_addr(&vif.nif));
  kernel::console_print("net: %c%c%u %02x:%02x:%02x:%02x:%02x:%02x %s %s/%s gw %s dns %s (%s, %llu ms)\n",
                        vif.nif.name[0], vif.nif.name[1], vif.nif.num, m[0], m[1], m[2], m[3], m[4], m[5],
                        has ? "inet" : "no address", has ? a : "-", has ? n : "-", g, d,
                        vif.dhcp ? "dhcp" : "static", static_cast<unsigned long long>(elapsed_ns / 1000000));
}

}  // namespace

Result<void> ensure_up() {
  if (g_started) return g_result;
  g_started = true;
  uint64_t t0 = time::monotonic_ns();
  g_vifs = new std::vector<std::unique_ptr<Vif>>;
  sys_sem_t ready;
  if (sys_sem_new(&ready, 0) != ERR_OK) return g_result = Errno::kNoDev;
  tcpip_init(tcpip_ready, &ready);
  sys_sem_wait(&ready);
  sys_sem_free(&ready);
  auto found = probe();
  unsigned count = found.ok() ? found.value() : 0;
  for (unsigned i = 0; i < count; ++i)
    if (NetFront* front = device(i); front && front->connected()) add_vif(front);
  // Wait for DHCP (slirp answers within milliseconds; a LAN may take longer).
  uint64_t deadline = t0 + kDhcpTimeoutNs;
  for (auto& vif : *g_vifs) {
    while (vif->dhcp && time::monotonic_ns() < deadline) {
      LOCK_TCPIP_CORE();
      bool bound = dhcp_supplied_address(&vif->nif);
      UNLOCK_TCPIP_CORE();
      if (bound) break;
      sched::sleep_ns(2'000'000);
    }
    report(*vif, time::monotonic_ns() - t0);
  }
  return g_result = Result<void>();
}

bool interface_info(unsigned index, InterfaceInfo& out) {
  if (!g_vifs || index >= g_vifs->size()) return false;
  const Vif& v = *(*g_vifs)[index];
  memcpy(out.mac, v.nif.hwaddr, 6);
  out.address = ip4_addr_get_u32(netif_ip4_addr(&v.nif));
  out.netmask = ip4_addr_get_u32(netif_ip4_netmask(&v.nif));
  out.gateway = ip4_addr_get_u32(netif_ip4_gw(&v.nif));
  out.dhcp = v.dhcp;
  return true;
}

}  // namespace atl::net

extern "C" void atoll_net_flush_tx(void) {
  if (!atl::net::g_vifs) return;
  for (auto& vif : *atl::net::g_vifs) vif->front->flush_tx();
}
