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
// however the input left the ring, the frontend still closes and connects
// again (the reset before the next input).
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

#include <cstdlib>
#include <cstring>
#include <string>

#include "atoll/hosted_abi.h"
#include "fuzz_input.h"
#include "guest_env.h"
#include "netfront.h"

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

struct Harness {
  GuestEnv& env = GuestEnv::get();
  FakeBackend backend{env};
  std::unique_ptr<net::NetFront> front;

  Harness() {
    auto f = net::NetFront::try_create(env.client(), "device/vif/" + std::to_string(kDevid));
    if (!f.ok()) abort();
    front = std::move(f.value());
    backend.connect(*front);
  }

  // Between inputs: the backend disconnects and the frontend connects
  // afresh, with new rings.
  void reset() {
    if (!backend.disconnect()) __builtin_trap();
    backend.connect(*front);
  }
};

void check_packet(const net::RxPacket& p) {
  const uintptr_t heap = hosted::gpa_to_va(GuestEnv::kHeapStartGpa), end = hosted::gpa_to_va(GuestEnv::kMemory);
  if (p.count == 0 || p.count > net::RxPacket::kMaxRxSlots) __builtin_trap();
  size_t total = 0;
  volatile uint8_t sink = 0;
  for (unsigned i = 0; i < p.count; ++i) {
    auto piece = p.pieces[i];
    auto at = reinterpret_cast<uintptr_t>(piece.data());
    if (at < heap || at + piece.size() > end) __builtin_trap();
    if (piece.empty() || at % hosted::kPageSize + piece.size() > hosted::kPageSize) __builtin_trap();
    for (uint8_t b : piece) sink = sink + b;  // the stack reads every byte it is given
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
  h->reset();
  return 0;
}
