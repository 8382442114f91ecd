// A hostile network frontend: no NetFront, its own tx and rx rings on the real
// xenbus handshake of device/vif/0 (run with `--net user`, and over a TAP by
// hostile_tap_test.py, where netback reads GSO packets in place), then transmit
// requests with every field wrong: a runt, fragments crossing their page,
// fragments adding up to more than the packet, grant refs past the table,
// ended or granted to another domain, an unknown extra-info slot, a frame too
// big without GSO, GSO extras on what cannot be segmented (ARP, the other IP
// version, segments over the MTU, a segment size under the minimum). Each must be answered with an error while the vif stays
// Connected. Frames with a spoofed source MAC are answered OKAY but must not go
// out: one sent from the broadcast address asks slirp for 10.0.2.2's MAC, and
// slirp's (or the host's) broadcast reply would come back on the rx ring if it had gone out;
// the same request from our own MAC does get its reply. Finally the tx ring is
// overrun: the backend must disconnect the vif (Closing) and the xenbus
// handshake brings it back on fresh rings. The guest exiting 0 under
// `atoll run` shows the hypervisor outlived all of it.
#include <initializer_list>

#include "check.h"
#include "net/hostile_vif.h"

using namespace atl;
using namespace atl::test;

namespace {

// The page frames are sent from, at these offsets.
alignas(kPage) uint8_t g_data[kPage];
constexpr uint16_t kArpOurs = 0;        // an ARP request for 10.0.2.2 from our MAC
constexpr uint16_t kSpoofUnicast = 128;  // the same from another unicast MAC
constexpr uint16_t kSpoofBroadcast = 256;  // the same from ff:ff:ff:ff:ff:ff
constexpr uint16_t kBig = 1024;          // 1519 bytes of a local-experimental ethertype
constexpr uint16_t kArpSize = 60;        // 42 bytes of ARP padded to the Ethernet minimum
constexpr uint16_t kTcp = 2560;          // a TCP/IPv4 packet of kTcpSize bytes to 10.0.2.2
constexpr uint16_t kTcpSize = 1500;

// slirp's ARP replies about 10.0.2.2, by destination.
struct ArpReplies {
  unsigned to_us = 0, broadcast = 0;
  void note(const uint8_t* f, size_t n, const uint8_t* mac) {
    // Ethernet + ARP: ethertype 0x0806, opcode 2 (reply), sender IP 10.0.2.2.
    static const uint8_t gateway[4] = {10, 0, 2, 2};
    if (n < 42 || f[12] != 0x08 || f[13] != 0x06 || f[20] != 0 || f[21] != 2) return;
    if (memcmp(f + 28, gateway, 4) != 0) return;
    if (memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) == 0)
      ++broadcast;
    else if (memcmp(f, mac, 6) == 0)
      ++to_us;
  }
};

void write_arp_request(uint8_t* f, const uint8_t* eth_source, const uint8_t* our_mac) {
  static const uint8_t guest_ip[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2};
  memset(f, 0, kArpSize);
  memset(f, 0xff, 6);
  memcpy(f + 6, eth_source, 6);
  f[12] = 0x08, f[13] = 0x06;          // ARP
  f[14] = 0, f[15] = 1;                // Ethernet
  f[16] = 0x08, f[17] = 0x00;          // IPv4
  f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1;  // request
  memcpy(f + 22, our_mac, 6);          // sender MAC: ours in every variant
  memcpy(f + 28, guest_ip, 4);
  memcpy(f + 38, gateway, 4);
}

// A TCP segment (ACK, no connection behind it) from 10.0.2.15 to 10.0.2.2:9
// with kTcpSize - 54 bytes of payload; checksums are left for the backend.
void write_tcp(uint8_t* f, const uint8_t* mac) {
  static const uint8_t header[] = {
      0x45, 0, (kTcpSize - 14) >> 8, (kTcpSize - 14) & 0xff, 0, 1, 0x40, 0, 64, 6, 0, 0,  // IPv4, DF, TCP
      10, 0, 2, 15, 10, 0, 2, 2,                                                      // addresses
      0xc0, 0x00, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x10, 0x10, 0, 0, 0, 0, 0};     // TCP
  memset(f, 0x52, 6);  // 52:52:52:52:52:52, slirp's gateway MAC
  memcpy(f + 6, mac, 6);
  f[12] = 0x08, f[13] = 0x00;
  memcpy(f + 14, header, sizeof header);
  memset(f + 54, 'x', kTcpSize - 54);
  uint32_t sum = 0;  // the IPv4 header checksum
  for (int i = 14; i < 34; i += 2) sum += static_cast<uint32_t>(f[i] << 8 | f[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f[24] = static_cast<uint8_t>(~sum >> 8), f[25] = static_cast<uint8_t>(~sum);
}

netif_tx_request gso_extra(uint8_t type, uint16_t size) {
  netif_extra_info extra{};
  extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
  extra.u.gso.type = type;
  extra.u.gso.size = size;
  netif_tx_request slot{};
  static_assert(sizeof extra <= sizeof slot);
  memcpy(&slot, &extra, sizeof extra);
  return slot;
}

const char* status_name(int16_t s) {
  switch (s) {
    case NETIF_RSP_OKAY: return "OKAY";
    case NETIF_RSP_ERROR: return "ERROR";
    case NETIF_RSP_DROPPED: return "DROPPED";
    case NETIF_RSP_NULL: return "NULL";
  }
  return "?";
}

}  // namespace

int main() {
  xs::Client* client = xs::client();
  auto ids = client->directory("device/vif");
  CHECK(ids.ok() && ids->size() == 1, "one vif in xenstore");
  if (!ids.ok() || ids->empty()) return check_result("net_hostile");
  HostileVif vif;
  ArpReplies arp;
  vif.on_frame = [&](const uint8_t* f, size_t n) { arp.note(f, n, vif.mac); };
  auto dev = xs::XenbusDevice::try_create(*client, "device/vif/" + (*ids)[0], vif, xs::Handshake::kConnectDirectly);
  CHECK(dev.ok(), "xenbus device for device/vif/%s", (*ids)[0].c_str());
  if (!dev.ok()) return check_result("net_hostile");
  xs::XenbusDevice& device = **dev;
  auto mac_text = client->read(device.backend_key("mac"));
  CHECK(mac_text.ok() && parse_mac(*mac_text, vif.mac), "the backend's mac key (%s)",
        mac_text.ok() ? mac_text->c_str() : "missing");
  CHECK(device.start().ok(), "handshake started");
  CHECK(vif.wait_for([&] { return vif.connected; }, kStateWaitNs), "connected by hand (Connected directly)");
  auto be_state = client->read(device.backend_key("state"));
  CHECK(be_state.ok() && *be_state == "4", "the backend says Connected (%s)", be_state.ok() ? be_state->c_str() : "?");
  if (!vif.connected) return check_result("net_hostile");

  auto good = gnttab::grant_access(vif.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadOnly);
  auto foreign = gnttab::grant_access(DomId(5), gnttab::virt_to_gfn(g_data), gnttab::Access::kReadWrite);
  auto ended = gnttab::grant_access(vif.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadOnly);
  CHECK(good.ok() && foreign.ok() && ended.ok() && gnttab::end_access(*ended), "data grants");
  uint32_t g = good->value();
  const uint8_t unicast_spoof[6] = {0x02, 0x00, 0x00, 0xba, 0xdb, 0xad};
  const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  write_arp_request(g_data + kArpOurs, vif.mac, vif.mac);
  write_arp_request(g_data + kSpoofUnicast, unicast_spoof, vif.mac);
  write_arp_request(g_data + kSpoofBroadcast, broadcast, vif.mac);
  memset(g_data + kBig, 0xa5, 1519);
  memset(g_data + kBig, 0xff, 6);
  memcpy(g_data + kBig + 6, vif.mac, 6);
  g_data[kBig + 12] = 0x88, g_data[kBig + 13] = 0xb5;
  write_tcp(g_data + kTcp, vif.mac);

  uint16_t next_id = 100;
  // Sends one packet (ids numbered here) and checks every slot's answer: data
  // slots `want`, extra-info slots NETIF_RSP_NULL, each id answered once.
  auto expect = [&](const char* what, std::initializer_list<netif_tx_request> slots, int16_t want,
                    std::initializer_list<bool> is_extra = {}) {
    std::vector<netif_tx_request> numbered(slots);
    for (auto& s : numbered) s.id = next_id++;
    std::optional<std::vector<netif_tx_response>> got = vif.send(numbered);
    bool ok = got.has_value();
    int16_t first = ok ? (*got)[0].status : 99;
    for (size_t i = 0; ok && i < numbered.size(); ++i) {
      bool extra = i < is_extra.size() && is_extra.begin()[i];
      ok = (*got)[i].id == numbered[i].id && (*got)[i].status == (extra ? NETIF_RSP_NULL : want);
    }
    CHECK(ok, "%s: %s (%zu slots answered)", what, got ? status_name(first) : "no answer", got ? got->size() : 0);
  };

  expect("a valid ARP request from our MAC", {frag(g, kArpOurs, kArpSize)}, NETIF_RSP_OKAY);
  CHECK(vif.wait_for([&] { return arp.to_us > 0; }, kResponseWaitNs),
        "slirp's ARP reply came back on the rx ring");

  expect("a packet of 10 bytes (< 14)", {frag(g, 0, 10)}, NETIF_RSP_ERROR);
  expect("a packet of 0 bytes", {frag(g, 0, 0)}, NETIF_RSP_ERROR);
  expect("a first fragment at offset 4000 of 200 bytes", {frag(g, 4000, 200)}, NETIF_RSP_ERROR);
  expect("a first fragment at offset 4096", {frag(g, 4096, 60)}, NETIF_RSP_ERROR);
  expect("a second fragment at offset 4050 of 100 bytes",
         {frag(g, 0, 160, NETTXF_more_data), frag(g, 4050, 100)}, NETIF_RSP_ERROR);
  expect("fragments adding up to the total (nothing left for the first)",
         {frag(g, 0, 100, NETTXF_more_data), frag(g, 0, 100)}, NETIF_RSP_ERROR);
  expect("fragments adding up to more than the total",
         {frag(g, 0, 100, NETTXF_more_data), frag(g, 0, 60, NETTXF_more_data), frag(g, 0, 60)}, NETIF_RSP_ERROR);
  expect("an empty second fragment", {frag(g, 0, 60, NETTXF_more_data), frag(g, 0, 0)}, NETIF_RSP_ERROR);
  expect("grant ref 100000 (past the table)", {frag(100000, 0, 60)}, NETIF_RSP_ERROR);
  expect("a grant ref already ended", {frag(ended->value(), 0, 60)}, NETIF_RSP_ERROR);
  expect("a grant made to another domain", {frag(foreign->value(), 0, 60)}, NETIF_RSP_ERROR);
  expect("a bad grant in the second fragment",
         {frag(g, kArpOurs, kArpSize + 20, NETTXF_more_data), frag(100000, 0, 20)}, NETIF_RSP_ERROR);
  {
    netif_extra_info extra{};
    extra.type = 99;  // no such XEN_NETIF_EXTRA_TYPE_*
    netif_tx_request slot{};
    static_assert(sizeof extra <= sizeof slot);
    memcpy(&slot, &extra, sizeof extra);
    expect("an extra-info slot of unknown type", {frag(g, kArpOurs, kArpSize, NETTXF_extra_info), slot},
           NETIF_RSP_ERROR, {false, true});
    extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
    extra.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
    extra.u.gso.size = 0;
    memcpy(&slot, &extra, sizeof extra);
    expect("a GSO extra with segment size 0", {frag(g, kArpOurs, kArpSize, NETTXF_extra_info), slot},
           NETIF_RSP_ERROR, {false, true});
  }
  expect("1519 bytes without GSO", {frag(g, kBig, 1519)}, NETIF_RSP_ERROR);
  expect("1518 bytes (the largest frame) passes", {frag(g, kBig, 1518)}, NETIF_RSP_OKAY);
  // GSO: checked against the packet's headers once it is copied out.
  const uint16_t blank = NETTXF_csum_blank | NETTXF_data_validated | NETTXF_extra_info;
  expect("a GSO extra on an ARP frame",
         {frag(g, kArpOurs, kArpSize, NETTXF_extra_info), gso_extra(XEN_NETIF_GSO_TYPE_TCPV4, 1448)},
         NETIF_RSP_ERROR, {false, true});
  expect("a TCPv6 GSO extra on an IPv4 packet",
         {frag(g, kTcp, kTcpSize, blank), gso_extra(XEN_NETIF_GSO_TYPE_TCPV6, 500)}, NETIF_RSP_ERROR,
         {false, true});
  expect("GSO segments over the MTU (54 + 1465 bytes)",
         {frag(g, kTcp, kTcpSize, blank), gso_extra(XEN_NETIF_GSO_TYPE_TCPV4, 1465)}, NETIF_RSP_ERROR,
         {false, true});
  expect("a GSO segment size of 20", {frag(g, kTcp, kTcpSize, blank), gso_extra(XEN_NETIF_GSO_TYPE_TCPV4, 20)},
         NETIF_RSP_ERROR, {false, true});
  expect("a TCP packet segmented by 500 passes",
         {frag(g, kTcp, kTcpSize, blank), gso_extra(XEN_NETIF_GSO_TYPE_TCPV4, 500)}, NETIF_RSP_OKAY,
         {false, true});
  expect("a GSO packet over two fragments passes",
         {frag(g, kTcp, kTcpSize, blank | NETTXF_more_data), gso_extra(XEN_NETIF_GSO_TYPE_TCPV4, 700),
          frag(g, kTcp + 1000, 500)},
         NETIF_RSP_OKAY, {false, true, false});
  {
    // Over a TAP, netback reads a GSO packet in place, holding each grant
    // until the write: a refused second fragment must not leave the first
    // one's grant held.
    auto first = gnttab::grant_access(vif.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadOnly);
    CHECK(first.ok(), "a grant for the first fragment");
    if (first.ok()) {
      expect("a GSO packet with a bad grant in its second fragment",
             {frag(first->value(), kTcp, kTcpSize, blank | NETTXF_more_data), gso_extra(XEN_NETIF_GSO_TYPE_TCPV4, 700),
              frag(100000, 0, 500)},
             NETIF_RSP_ERROR, {false, true, false});
      CHECK(gnttab::end_access(*first), "the backend let go of the first fragment's grant");
    }
  }
  be_state = client->read(device.backend_key("state"));
  CHECK(vif.connected && !vif.saw_closing && be_state.ok() && *be_state == "4",
        "the backend stayed Connected through all of it (%s)", be_state.ok() ? be_state->c_str() : "?");

  // Spoofed source MACs are answered OKAY (the guest did nothing the ring
  // forbids) and dropped. A reply to the broadcast-sourced request would be
  // broadcast, which the backend delivers: none may arrive.
  unsigned before_us = arp.to_us;
  expect("a spoofed unicast source MAC (answered, dropped)", {frag(g, kSpoofUnicast, kArpSize)}, NETIF_RSP_OKAY);
  expect("a spoofed broadcast source MAC (answered, dropped)", {frag(g, kSpoofBroadcast, kArpSize)},
         NETIF_RSP_OKAY);
  bool leaked = vif.wait_for([&] { return arp.broadcast > 0; }, 500'000'000ULL);
  CHECK(!leaked, "no reply to the spoofed frame came back (%u broadcast ARP replies)", arp.broadcast);
  expect("a valid frame still works", {frag(g, kArpOurs, kArpSize)}, NETIF_RSP_OKAY);
  CHECK(vif.wait_for([&] { return arp.to_us > before_us; }, kResponseWaitNs),
        "and its ARP reply came back");

  // Overrun: claim a ring and a bit more of requests at once.
  auto* sring = static_cast<TxRing::Shared*>(vif.tx_page);
  __atomic_store_n(&sring->header.req_prod, vif.tx->req_prod_pvt().value() + TxRing::kSize + 16, __ATOMIC_RELEASE);
  (void)evtchn::send(*vif.port);
  CHECK(vif.wait_for([&] { return vif.saw_closing; }, kStateWaitNs), "the backend disconnected the overrun tx ring");
  CHECK(vif.backend_state_at_closing == "5", "its state key said Closing (%s)", vif.backend_state_at_closing.c_str());
  CHECK(vif.wait_for([&] { return vif.connected && vif.connects == 2; }, kStateWaitNs),
        "the vif reconnected on fresh rings");
  before_us = arp.to_us;
  expect("a valid frame on the new rings", {frag(g, kArpOurs, kArpSize)}, NETIF_RSP_OKAY);
  CHECK(vif.wait_for([&] { return arp.to_us > before_us; }, kResponseWaitNs),
        "and its ARP reply came back on the new rx ring");
  return check_result("net_hostile");
}
