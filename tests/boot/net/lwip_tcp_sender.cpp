// lwIP's TCP sender against a scripted peer: a netif of the test's own
// captures every segment lwIP sends, and the test answers with segments it
// builds itself, so windows and timers are exactly what a case needs.
//
// The case: a stream whose end is written and shut down (the FIN rides on
// the last queued segment) while the peer's window is smaller than that
// segment. lwIP's persist timer then splits the segment at the window; 2.1.3
// left the FIN on the front half, so the peer saw the stream end early and
// the rest was never delivered (subprojects/packagefiles/
// lwip-split-keeps-fin.patch). Downloads through the hypervisor's forwards
// ended short that way when the client read slowly.
//
// And: the persist timer firing while the window is 64 KiB or more (window
// scaling) but the congestion window is smaller than the segment (the TSO
// hook raises the MSS of a connection under way). 2.1.3 cast the window to
// 16 bits for the split, a multiple of 64 KiB became 0, and lwIP's
// assertion aborted the guest; split at the window alone, the segment would
// never go (lwip-persist-wide-window.patch).
#include <string.h>

#include <algorithm>
#include <vector>

#include "check.h"
#include "atoll/net.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"

namespace {

constexpr uint16_t kPeerPort = 80;
constexpr uint32_t kPeerIss = 5000;
constexpr size_t kStreamBytes = 10000;
constexpr uint16_t kFirstWindow = 3000;  // two segments of 1460 fit
constexpr uint16_t kWindow = 1000;       // smaller than any full segment

uint8_t pattern_byte(size_t i) { return static_cast<uint8_t>((i * 7 + (i >> 9)) & 0xff); }

struct Segment {
  uint32_t seq = 0;
  uint8_t flags = 0;
  std::vector<uint8_t> data;
};

std::vector<Segment> g_sent;
netif g_nif;
ip4_addr_t g_local, g_peer;
uint16_t g_local_port = 0;

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void put32(uint8_t* p, uint32_t v) { put16(p, uint16_t(v >> 16)); put16(p + 2, uint16_t(v)); }

// The netif's IPv4 output: every TCP segment lwIP sends is recorded.
err_t capture(netif*, pbuf* p, const ip4_addr_t*) {
  std::vector<uint8_t> b(p->tot_len);
  pbuf_copy_partial(p, b.data(), p->tot_len, 0);
  size_t ihl = (b[0] & 15) * 4;
  if (b.size() < ihl + 20 || b[9] != IP_PROTO_TCP) return ERR_OK;
  const uint8_t* t = b.data() + ihl;
  size_t doff = (t[12] >> 4) * 4;
  g_local_port = uint16_t(t[0] << 8 | t[1]);
  Segment s;
  s.seq = be32(t + 4);
  s.flags = t[13];
  s.data.assign(b.begin() + ihl + doff, b.end());
  g_sent.push_back(std::move(s));
  return ERR_OK;
}

err_t nif_init(netif* nif) {
  nif->name[0] = 't';
  nif->name[1] = 'p';
  nif->output = capture;
  // As a TSO netif (netif_netfront.cpp): IP does not fragment a large segment.
  nif->mtu = 65000;
  nif->flags = NETIF_FLAG_BROADCAST;
  NETIF_SET_CHECKSUM_CTRL(nif, 0);  // nothing to check or fill in on either side
  return ERR_OK;
}

// The peer's segment to lwIP (called with the core lock held).
// The SYN-ACK carries MSS 1460 and, given `wscale`, window scaling.
void inject(uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window, bool mss_option, int wscale = -1) {
  size_t tcp_len = mss_option ? (wscale >= 0 ? 28 : 24) : 20;
  size_t len = 20 + tcp_len;
  pbuf* p = pbuf_alloc(PBUF_RAW, uint16_t(len), PBUF_RAM);
  auto* b = static_cast<uint8_t*>(p->payload);
  memset(b, 0, len);
  b[0] = 0x45;
  put16(b + 2, uint16_t(len));
  b[8] = 64;
  b[9] = IP_PROTO_TCP;
  memcpy(b + 12, &g_peer.addr, 4);
  memcpy(b + 16, &g_local.addr, 4);
  uint8_t* t = b + 20;
  put16(t, kPeerPort);
  put16(t + 2, g_local_port);
  put32(t + 4, seq);
  put32(t + 8, ack);
  t[12] = uint8_t(tcp_len / 4) << 4;
  t[13] = flags;
  put16(t + 14, window);
  if (mss_option) {
    t[20] = 2;
    t[21] = 4;
    put16(t + 22, 1460);
    if (wscale >= 0) {
      t[24] = 1;  // NOP
      t[25] = 3;
      t[26] = 3;
      t[27] = uint8_t(wscale);
    }
  }
  ip4_input(p, &g_nif);
}

// The end of what lwIP has sent (data, SYN and FIN counted), after iss.
uint32_t sent_end(uint32_t iss) {
  uint32_t most = 0;
  for (const Segment& s : g_sent) {
    uint32_t end = s.seq + uint32_t(s.data.size()) + ((s.flags & (TCP_SYN | TCP_FIN)) ? 1 : 0);
    most = std::max(most, end - iss);
  }
  return iss + most;
}

// A connection from lwIP to the scripted peer, established.
tcp_pcb* connect_peer(uint16_t syn_window, int wscale, uint32_t& iss) {
  tcp_pcb* pcb = tcp_new();
  bool connected = false;
  tcp_arg(pcb, &connected);
  ip_addr_t peer;
  ip_addr_copy_from_ip4(peer, g_peer);
  g_sent.clear();
  err_t err = tcp_connect(pcb, &peer, kPeerPort, [](void* arg, tcp_pcb*, err_t) -> err_t {
    *static_cast<bool*>(arg) = true;
    return ERR_OK;
  });
  CHECK(err == ERR_OK && g_sent.size() == 1 && (g_sent[0].flags & TCP_SYN), "SYN sent (err %d, %zu segments)",
        int(err), g_sent.size());
  iss = g_sent.empty() ? 0 : g_sent[0].seq;
  inject(kPeerIss, iss + 1, TCP_SYN | TCP_ACK, syn_window, true, wscale);
  tcp_arg(pcb, nullptr);
  CHECK(connected, "connected after the peer's SYN-ACK");
  return pcb;
}

void fin_stays_at_the_end() {
  uint32_t iss = 0;
  tcp_pcb* pcb = connect_peer(kFirstWindow, -1, iss);
  std::vector<uint8_t> stream(kStreamBytes);
  for (size_t i = 0; i < stream.size(); ++i) stream[i] = pattern_byte(i);
  err_t err = tcp_write(pcb, stream.data(), uint16_t(stream.size()), TCP_WRITE_FLAG_COPY);
  CHECK(err == ERR_OK, "%zu bytes queued", stream.size());
  tcp_output(pcb);
  err = tcp_shutdown(pcb, 0, 1);  // the FIN goes onto the last queued segment
  CHECK(err == ERR_OK, "send side shut down with data still queued");

  // The peer acknowledges everything sent and offers kWindow more each time;
  // the persist timer (tcp_slowtmr, a few ticks) sends what fits.
  uint32_t stream_end = iss + 1 + kStreamBytes;
  bool fin_seen = false;
  for (int round = 0; round < 200 && !fin_seen; ++round) {
    size_t before = g_sent.size();
    inject(kPeerIss + 1, sent_end(iss), TCP_ACK, kWindow, false);
    for (int tick = 0; tick < 40 && g_sent.size() == before; ++tick) tcp_slowtmr();
    for (const Segment& s : g_sent) fin_seen |= (s.flags & TCP_FIN) != 0;
  }

  // Every FIN must sit at the stream's end, and the data before it must be
  // the stream, whole.
  std::vector<uint8_t> got(kStreamBytes);
  std::vector<bool> have(kStreamBytes);
  int early_fins = 0;
  bool outside = false;
  for (const Segment& s : g_sent) {
    if (s.flags & TCP_SYN) continue;
    if ((s.flags & TCP_FIN) && s.seq + s.data.size() != stream_end) {
      ++early_fins;
      printf("FIN at stream offset %u, %u bytes before the end\n", unsigned(s.seq + s.data.size() - iss - 1),
             unsigned(stream_end - s.seq - s.data.size()));
    }
    for (size_t i = 0; i < s.data.size(); ++i) {
      size_t at = s.seq - iss - 1 + i;
      if (at >= kStreamBytes) { outside = true; continue; }
      got[at] = s.data[i];
      have[at] = true;
    }
  }
  size_t covered = 0;
  while (covered < kStreamBytes && have[covered]) ++covered;
  CHECK(fin_seen, "a FIN was sent (%zu segments)", g_sent.size());
  CHECK(early_fins == 0, "no FIN before the stream's end (%d early)", early_fins);
  CHECK(covered == kStreamBytes && !outside && got == stream, "the %zu bytes sent are the stream, whole (%zu covered)",
        kStreamBytes, covered);
  tcp_abort(pcb);
}

void persist_with_a_wide_window() {
  uint32_t iss = 0;
  // Scaling by 2^4; the SYN-ACK's own window is never scaled.
  tcp_pcb* pcb = connect_peer(0xffff, 4, iss);
  inject(kPeerIss + 1, iss + 1, TCP_ACK, 0, false);  // the window closes
  // A segment of 20,000 bytes, as the TSO hook's raised MSS lets lwIP build
  // (netif_netfront.cpp), waits for the window: the persist timer runs.
  pcb->mss = 64240;
  std::vector<uint8_t> data(20000, 0x5a);
  err_t err = tcp_write(pcb, data.data(), uint16_t(data.size()), TCP_WRITE_FLAG_COPY);
  tcp_output(pcb);
  CHECK(err == ERR_OK && pcb->unsent && pcb->unsent->len == data.size() && pcb->persist_backoff > 0,
        "one segment of %zu bytes queued, the persist timer running", data.size());
  // The window opens to exactly 64 KiB (4096 << 4) while the congestion
  // window is smaller than the segment, so it still waits.
  pcb->cwnd = 1460;
  inject(kPeerIss + 1, iss + 1, TCP_ACK, 4096, false);
  CHECK(pcb->snd_wnd == 65536, "the peer's window is %u", unsigned(pcb->snd_wnd));
  size_t before = g_sent.size();
  for (int tick = 0; tick < 20 && g_sent.size() == before; ++tick) tcp_slowtmr();  // 2.1.3 aborted here
  size_t sent = 0;
  for (size_t i = before; i < g_sent.size(); ++i) sent += g_sent[i].data.size();
  // Nothing in flight will open the congestion window: the persist timer
  // must send what it allows.
  CHECK(sent == 1460 && pcb->unsent && pcb->unsent->len == data.size() - 1460,
        "the persist timer sent what the congestion window allows: %zu bytes", sent);
  pcb->cwnd = 65536;
  before = g_sent.size();
  inject(kPeerIss + 1, sent_end(iss), TCP_ACK, 4096, false);
  sent = 0;
  for (size_t i = before; i < g_sent.size(); ++i) sent += g_sent[i].data.size();
  CHECK(sent == data.size() - 1460, "the rest went at the next acknowledgement: %zu bytes", sent);
  tcp_abort(pcb);
}

}  // namespace

int main() {
  CHECK(atl::net::ensure_up().ok(), "network stack up");
  IP4_ADDR(&g_local, 10, 9, 0, 1);
  IP4_ADDR(&g_peer, 10, 9, 0, 2);
  ip4_addr_t mask;
  IP4_ADDR(&mask, 255, 255, 255, 0);

  LOCK_TCPIP_CORE();
  netif_add(&g_nif, &g_local, &mask, IP4_ADDR_ANY4, nullptr, nif_init, ip4_input);
  netif_set_up(&g_nif);
  netif_set_link_up(&g_nif);
  fin_stays_at_the_end();
  persist_with_a_wide_window();
  netif_remove(&g_nif);
  UNLOCK_TCPIP_CORE();
  return check_result("lwip_tcp_sender");
}
