// libFuzzer target for netif rx responses as netfront parses them: the real
// NetFront (pv-drivers/net/netfront.cpp, built for the host over the kernel
// doubles of tests/unit/dataplane) connected to a backend played by the
// input, which writes any responses (ids, offsets, sizes, flags, extra-info
// chains, GSO extras) into the rx ring and moves rsp_prod anywhere, then
// lets netfront poll. The ring is real guest memory granted by the real
// kernel grant code and mapped through the hypervisor's grant table
// (guest_env.h), so what the "backend" writes is what netfront reads.
//
// Beyond "no crash, no sanitizer report": every packet netfront hands up
// lies in its own rx buffers (each piece inside one page of the guest heap),
// its size is the sum of its pieces and its pieces at most kMaxRxSlots; and
// after an input that reconnects (below), however it left the ring, the
// frontend still closes and connects again.
//
// Every input meets netfront as a connect left it. A reconnect (a full
// xenbus close and connect through xenstored, some 36 xenstore requests) per
// input made it the target's main cost, so netfront's queues and their ring
// pages are kept as the first connect left them (NetFrontSnapshot) and put
// back before each input. The reconnect still follows an input that left
// netfront disconnected, and one input in kReconnectEvery chosen by a hash
// of its bytes (so an input does the same alone and in a run); after each
// reconnect the target checks that it left netfront exactly as the
// snapshot has it, which is what makes the two starts the same.
//
// The input is a script; op % 3:
//   0  responses: count, then each one structured (a posted buffer's id or
//      any, an offset, a size or an error, flags) or 8 raw bytes (an extra
//      info slot); written from rsp_prod on and published
//   1  rsp_prod moved by any amount (back, or ahead of the requests)
//   2  netfront polls the ring (poll_rx), as its rx thread does on an event
// Seeds: gen_netif_rx_corpus.py.
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "atoll/hosted_abi.h"
#include "fuzz_input.h"
#include "guest_env.h"
#include "netfront.h"

namespace atl::net {

// What a connect leaves in netfront: its queues (ring indices, which buffer
// each slot holds, the grants, the port) and the bytes of their ring pages.
// The rx buffers' bytes are not kept: nothing writes them here (the backend
// only writes the ring), so they are the same before every input.
struct NetFrontSnapshot {
  static constexpr size_t kPage = 4096;
  std::array<NetFront::Queue, NetFront::kMaxQueues> queues;
  NetCounters counters;
  unsigned queue_count;
  std::array<std::array<uint8_t, kPage>, NetFront::kMaxQueues> tx_pages, rx_pages;

  explicit NetFrontSnapshot(const NetFront& f)
      : queues(f.m_queues), counters(f.m_counters), queue_count(f.m_queue_count) {
    for (unsigned i = 0; i < queue_count; ++i) {
      std::memcpy(tx_pages[i].data(), queues[i].tx_page, kPage);
      std::memcpy(rx_pages[i].data(), queues[i].rx_page, kPage);
    }
  }

  // Only for a netfront still connected with the rings it had.
  void restore(NetFront& f) const {
    f.m_queues = queues;
    f.m_counters = counters;
    for (unsigned i = 0; i < queue_count; ++i) {
      std::memcpy(queues[i].tx_page, tx_pages[i].data(), kPage);
      std::memcpy(queues[i].rx_page, rx_pages[i].data(), kPage);
    }
  }

  bool still_usable(const NetFront& f) const {
    return f.m_connected && f.m_queue_count == queue_count && f.m_queues[0].rx_page == queues[0].rx_page;
  }

  // Whether a connect just left `f` as this snapshot has it: the same
  // pages, grants and port, the same indices and the same bytes on the
  // rings; rx_slot_buffer only where buffers are posted (a slot is always
  // written when posted, before a response can be taken from it).
  bool same_as(const NetFront& f) const {
    if (!f.m_connected || f.m_queue_count != queue_count) return false;
    for (unsigned i = 0; i < queue_count; ++i) {
      const NetFront::Queue &a = queues[i], &b = f.m_queues[i];
      if (a.owner != b.owner || a.tx_page != b.tx_page || a.rx_page != b.rx_page || a.tx_buffers != b.tx_buffers ||
          a.rx_buffers != b.rx_buffers || a.tx_ref != b.tx_ref || a.rx_ref != b.rx_ref || a.port != b.port ||
          a.tx_grants != b.tx_grants || a.rx_grants != b.rx_grants || a.tx_pages != b.tx_pages)
        return false;
      if (a.tx_free != b.tx_free || a.tx_free_count != b.tx_free_count || a.tx_busy != b.tx_busy ||
          a.tx_notify_pending != b.tx_notify_pending)
        return false;
      if (!a.tx || !b.tx || !a.rx || !b.rx || a.tx->req_prod_pvt() != b.tx->req_prod_pvt() ||
          a.tx->rsp_cons() != b.tx->rsp_cons() || a.rx->req_prod_pvt() != b.rx->req_prod_pvt() ||
          a.rx->rsp_cons() != b.rx->rsp_cons())
        return false;
      if (a.rx_posted != b.rx_posted || a.rx_taken_count != b.rx_taken_count || a.rx_packet.count != 0 ||
          b.rx_packet.count != 0 || a.rx_packet.size != b.rx_packet.size || a.rx_more != b.rx_more ||
          a.rx_extra != b.rx_extra || a.rx_bad != b.rx_bad)
        return false;
      for (RingIdx at = a.rx->rsp_cons(); at != a.rx->req_prod_pvt(); ++at) {
        uint32_t slot = at.slot(NetifRxFrontRing::kSize);
        if (a.rx_slot_buffer[slot] != b.rx_slot_buffer[slot]) return false;
      }
      if (std::memcmp(tx_pages[i].data(), b.tx_page, kPage) != 0 ||
          std::memcmp(rx_pages[i].data(), b.rx_page, kPage) != 0)
        return false;
    }
    return true;
  }
};

}  // namespace atl::net

namespace atl::fuzz {
namespace {

using dataplane::GuestEnv;
using RxShared = net::NetifRxFrontRing::Shared;

constexpr uint32_t kDevid = 0;

// The backend's half of the handshake, written into xenstore by hand: no
// netback, so nothing else touches the rings.
class FakeBackend {
 public:
  explicit FakeBackend(GuestEnv& env) : m_env(env) {
    env.store().create_device_layout(GuestEnv::kDomid, "vif", kDevid,
                                     {{"mac", "00:16:3e:00:00:01"}, {"feature-sg", "1"}, {"feature-rx-copy", "1"}});
    m_be = "/local/domain/0/backend/vif/" + std::to_string(GuestEnv::kDomid) + "/" + std::to_string(kDevid);
    m_fe = "/local/domain/" + std::to_string(GuestEnv::kDomid) + "/device/vif/" + std::to_string(kDevid);
  }

  // InitWait, wait for the frontend's keys (it goes Connected), map the rx
  // ring, take its event channel, go Connected.
  void connect(net::NetFront& front) {
    set_state(XenbusStateInitWait);
    if (!m_env.run_until([&] { return state(m_fe) == XenbusStateConnected; })) abort();
    auto ref = m_env.store().read(m_fe + "/rx-ring-ref");
    auto port = m_env.store().read(m_fe + "/event-channel");
    if (!ref.ok() || !port.ok()) abort();
    auto map = m_env.domain().gnttab().map(GrantRef(std::stoul(*ref)), DomId(0), true);
    if (!map.ok()) abort();
    m_map = map->handle;
    m_ring = reinterpret_cast<RxShared*>(map->page.data());
    if (!m_env.domain().bind_backend_port(EvtchnPort(std::stoul(*port)), [] {}).ok()) abort();
    set_state(XenbusStateConnected);
    if (!m_env.run_until([&] { return front.connected(); })) abort();
  }

  // Closing; once the frontend stopped (Closed), the ring is let go and
  // the backend goes Closed; the frontend frees its rings and starts over
  // (Initialising), waiting for the next InitWait. False when it does not:
  // however the input left the ring, it must.
  bool disconnect() {
    set_state(XenbusStateClosing);
    if (!m_env.run_until([&] { return state(m_fe) == XenbusStateClosed; })) return false;
    m_env.domain().gnttab().unmap(m_map);
    m_ring = nullptr;
    set_state(XenbusStateClosed);
    return m_env.run_until([&] { return state(m_fe) == XenbusStateInitialising; });
  }

  RxShared* ring() { return m_ring; }

 private:
  void set_state(XenbusState s) { (void)m_env.store().write(m_be + "/state", std::to_string(s)); }
  int state(const std::string& dir) {
    auto v = m_env.store().read(dir + "/state");
    return v.ok() ? std::atoi(v->c_str()) : -1;
  }

  GuestEnv& m_env;
  std::string m_be, m_fe;
  uint64_t m_map = 0;
  RxShared* m_ring = nullptr;
};

// One input in this many is followed by a reconnect.
constexpr uint32_t kReconnectEvery = 64;

struct Harness {
  GuestEnv& env = GuestEnv::get();
  FakeBackend backend{env};
  std::unique_ptr<net::NetFront> front;
  std::optional<net::NetFrontSnapshot> connected;

  Harness() {
    auto f = net::NetFront::try_create(env.client(), "device/vif/" + std::to_string(kDevid));
    if (!f.ok()) abort();
    front = std::move(f.value());
    backend.connect(*front);
    connected.emplace(*front);
  }

  // Before each input: netfront as the connect left it.
  void restore() { connected->restore(*front); }

  // After an input: the backend disconnects and the frontend connects
  // afresh, which must leave it as the first connect did.
  void reconnect() {
    if (!backend.disconnect()) __builtin_trap();
    backend.connect(*front);
    if (!connected->same_as(*front)) {
      fprintf(stderr, "netif-rx: a reconnect left netfront unlike the first connect (the harness's bug)\n");
      abort();
    }
  }
  bool needs_reconnect() const { return !connected->still_usable(*front); }
};

// FNV-1a: which inputs are followed by a reconnect depends on the input alone.
uint32_t input_hash(const uint8_t* data, size_t size) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
  return h;
}

void check_packet(const net::RxPacket& p) {
  const uintptr_t heap = hosted::gpa_to_va(GuestEnv::kHeapStartGpa), end = hosted::gpa_to_va(GuestEnv::kMemory);
  if (p.count == 0 || p.count > net::RxPacket::kMaxRxSlots) __builtin_trap();
  size_t total = 0;
  static uint8_t copy[hosted::kPageSize];
  for (unsigned i = 0; i < p.count; ++i) {
    auto piece = p.pieces[i];
    auto at = reinterpret_cast<uintptr_t>(piece.data());
    if (at < heap || at + piece.size() > end) __builtin_trap();
    if (piece.empty() || at % hosted::kPageSize + piece.size() > hosted::kPageSize) __builtin_trap();
    // The stack reads every byte it is given: one copy reads them (and is
    // one range check under ASan, where a loop over the bytes was a
    // quarter of the time), and the empty asm keeps it from being dropped.
    std::memcpy(copy, piece.data(), piece.size());
    asm volatile("" : : "r"(copy) : "memory");
    total += piece.size();
  }
  if (total != p.size) __builtin_trap();
}

void write_responses(FuzzInput& in, RxShared& ring) {
  unsigned n = in.byte() % 65;
  uint32_t prod = __atomic_load_n(&ring.header.rsp_prod, __ATOMIC_RELAXED);
  for (unsigned i = 0; i < n; ++i) {
    netif_rx_response rsp;
    if (in.byte() & 1) {
      auto raw = in.take(sizeof rsp);
      std::memset(&rsp, 0, sizeof rsp);
      std::memcpy(&rsp, raw.data(), raw.size());
    } else {
      uint8_t how = in.byte();
      rsp.id = how & 1 ? in.u16() : in.byte() % net::NetFront::kRxBuffers;
      rsp.offset = how & 2 ? in.u16() : in.u16() % hosted::kPageSize;
      rsp.flags = in.byte();
      rsp.status = static_cast<int16_t>(how & 4 ? in.u16() : 1 + in.u16() % hosted::kPageSize);
    }
    std::memcpy(&ring.entry((prod + i) % RxShared::kSize).rsp, &rsp, sizeof rsp);
  }
  __atomic_store_n(&ring.header.rsp_prod, prod + n, __ATOMIC_RELEASE);
}

}  // namespace
}  // namespace atl::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace atl::fuzz;
  static Harness* h = new Harness;
  h->restore();
  FuzzInput in(data, size);
  while (!in.empty()) {
    RxShared& ring = *h->backend.ring();
    switch (in.byte() % 3) {
      case 0: write_responses(in, ring); break;
      case 1: __atomic_store_n(&ring.header.rsp_prod, ring.header.rsp_prod + in.u32(), __ATOMIC_RELEASE); break;
      case 2: h->front->poll_rx([](const atl::net::RxPacket& p) { check_packet(p); }); break;
    }
  }
  h->front->poll_rx([](const atl::net::RxPacket& p) { check_packet(p); });
  if (h->needs_reconnect() || input_hash(data, size) % kReconnectEvery == 0) h->reconnect();
  return 0;
}
