// lwIP's network interfaces over netfront, and the stack's bring-up
// (atoll/net.h). Each vif gets an lwIP netif whose linkoutput hands the pbuf
// chain to NetFront::transmit (one copy, into the persistently granted tx
// pages) and a receive thread that sleeps on the device's events (any of its
// queues) and feeds each batch of packets to ethernet_input under one hold of
// the core lock.
//
// Offloads. TCP checksums are never computed here: netfront marks them blank
// for the backend, and received ones the backend vouches for are not checked.
// When the backend takes TSO, lwIP sees a 64 KiB IPv4 MTU (so its IP layer
// does not fragment large TCP segments) and a connection's send MSS is raised
// once it is established (atoll_tcp_inpacket); anything else larger than the
// wire's MTU is fragmented at it here, before it reaches the link.
#include <stdio.h>
#include <stdlib.h>
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
#include "lwip/ip.h"
#include "lwip/ip4_frag.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcpip.h"
#include "netfront.h"

namespace atl::net {
namespace {

constexpr uint64_t kDhcpTimeoutNs = 10'000'000'000ULL;
constexpr unsigned kMaxGather = 64;
constexpr u16_t kWireMtu = NetFront::kMtu;
// The MTU lwIP's IPv4 layer sees on a TSO netif: the largest IP packet a
// netfront GSO frame carries.
constexpr u16_t kTsoMtu = NetFront::kMaxGsoFrame - 14;
// Checks lwIP does on received packets by default: TCP checksums are not
// generated (and so not checkable on frames looped back to the netif).
constexpr u16_t kChecksumDefault = NETIF_CHECKSUM_GEN_IP | NETIF_CHECKSUM_GEN_UDP | NETIF_CHECKSUM_GEN_ICMP |
                                   NETIF_CHECKSUM_GEN_ICMP6 | NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_UDP |
                                   NETIF_CHECKSUM_CHECK_ICMP | NETIF_CHECKSUM_CHECK_ICMP6;

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
      // tot_len is 16 bits: the largest frame fits.
      static uint8_t* flat = static_cast<uint8_t*>(malloc(NetFront::kMaxGsoFrame));
      if (!flat) return ERR_MEM;
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

// IPv4 output on a TSO netif: a TCP segment goes to the link whole, any
// other packet over the wire's MTU is fragmented at it.
err_t output_ip4(netif* nif, pbuf* p, const ip4_addr_t* dest) {
  if (p->tot_len <= kWireMtu) return etharp_output(nif, p, dest);
  bool tcp = p->len >= 20 && static_cast<const uint8_t*>(p->payload)[9] == IP_PROTO_TCP;
  if (tcp) return etharp_output(nif, p, dest);
  u16_t mtu = nif->mtu;
  nif->mtu = kWireMtu;
  err_t err = ip4_frag(p, nif, dest);  // each fragment comes back through here
  nif->mtu = mtu;
  return err;
}

err_t vif_init(netif* nif) {
  auto* front = static_cast<NetFront*>(nif->state);
  nif->name[0] = 'e';
  nif->name[1] = 'n';
  bool tso = front->tso(false);
  nif->output = tso ? output_ip4 : etharp_output;
  nif->output_ip6 = ethip6_output;
  nif->linkoutput = linkoutput;
  nif->mtu = tso ? kTsoMtu : kWireMtu;
  NETIF_SET_CHECKSUM_CTRL(nif, kChecksumDefault);
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
    front.poll_rx([vif](const RxPacket& packet) {
      if (packet.size > 0xffff) return;
      auto size = static_cast<u16_t>(packet.size);
      // A coalesced TCP stream is one allocation; frames use the pool.
      pbuf* p = pbuf_alloc(PBUF_RAW, size, size > PBUF_POOL_BUFSIZE ? PBUF_RAM : PBUF_POOL);
      if (!p) return;  // out of memory: the packet is lost, TCP resends
      u16_t at = 0;
      for (unsigned i = 0; i < packet.count; ++i) {
        pbuf_take_at(p, packet.pieces[i].data(), static_cast<u16_t>(packet.pieces[i].size()), at);
        at = static_cast<u16_t>(at + packet.pieces[i].size());
      }
      // The backend vouches for the checksums (or left them blank): checking
      // TCP's or UDP's would fail on a blank one and cost a pass otherwise.
      bool trusted = packet.data_validated || packet.checksum_blank;
      NETIF_SET_CHECKSUM_CTRL(&vif->nif, trusted ? kChecksumDefault & ~NETIF_CHECKSUM_CHECK_UDP
                                                  : kChecksumDefault | NETIF_CHECKSUM_CHECK_TCP);
      if (vif->nif.input(p, &vif->nif) != ERR_OK) pbuf_free(p);
    });
    NETIF_SET_CHECKSUM_CTRL(&vif->nif, kChecksumDefault);
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
    if (uint32_t dns = front->static_ip()->dns) {
      ip_addr_t server = IPADDR4_INIT(dns);
      dns_setserver(0, &server);
    }
  } else {
    vif->dhcp = true;
  }
  LOCK_TCPIP_CORE();
  // The rx thread holds the core lock already: frames go straight to ethernet_input.
  netif_add(&vif->nif, &addr, &mask, &gw, front, vif_init, ethernet_input);
  vif->nif.mtu6 = kWireMtu;  // IPv6 keeps the wire's MTU (TSO is IPv4's here)
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

extern "C" signed char atoll_tcp_inpacket(tcp_pcb* pcb) {
  using namespace atl::net;
  if (pcb->state != ESTABLISHED || !IP_IS_V4(&pcb->remote_ip)) return ERR_OK;
  netif* nif = ip_current_input_netif();
  if (!nif || nif->linkoutput != linkoutput || nif->mtu != kTsoMtu) return ERR_OK;
  // Only a connection whose MSS is at least the wire's: the peer asked for
  // no less, so netfront's GSO size (the MTU less the headers) is what it
  // accepts.
  constexpr u16_t wire_mss = kWireMtu - 40;
  if (pcb->mss < wire_mss) return ERR_OK;  // a smaller peer
  // A whole number of wire segments in the largest frame netfront sends, but
  // no more than half the largest window the peer has offered: lwIP sends a
  // segment only whole, and one larger than the window waits for the
  // persist timer (half a second and more) to split it. passt offers the
  // window its host socket has room for, at times only 30-60 KiB.
  constexpr u16_t most = (kTsoMtu - 40) / wire_mss * wire_mss;
  u32_t half_window = static_cast<u32_t>(pcb->snd_wnd_max / 2) / wire_mss * wire_mss;
  u16_t mss = static_cast<u16_t>(LWIP_MAX(static_cast<u32_t>(wire_mss), LWIP_MIN(half_window, static_cast<u32_t>(most))));
  if (mss == pcb->mss) return ERR_OK;
  pcb->mss = mss;
  // lwIP sends a segment only when it fits the congestion window, which
  // counts bytes but was sized for small segments: below one of the new
  // ones, a connection with nothing in flight would never send again.
  pcb->cwnd = LWIP_MAX(pcb->cwnd, static_cast<tcpwnd_size_t>(pcb->mss));
  return ERR_OK;
}

extern "C" void atoll_net_flush_tx(void) {
  if (!atl::net::g_vifs) return;
  for (auto& vif : *atl::net::g_vifs) vif->front->flush_tx();
}
