// blkfront's xenbus side: the ring keys it publishes, the disk keys it reads
// from the backend, and probe() over device/vbd. The handshake itself is
// XenbusDevice's (docs/xenbus.md), block style: Initialised, then Connected.
#include <stdlib.h>

#include <memory>
#include <string>
#include <vector>

#include "atoll/evtchn.h"
#include "atoll/kernel.h"
#include "atoll/time.h"
#include "atoll/xenbus_probe.h"
#include "atoll/xenstore.h"
#include "blkfront.h"

namespace atl::blk {
namespace {

// Made by probe() and kept for the domain's lifetime.
std::vector<std::unique_ptr<BlkFront>>* g_devices;

// A line on the console every 5 s while the backend is slow; give up after 300 s.
constexpr uint64_t kConnectReportNs = 5'000'000'000ULL;
constexpr uint64_t kConnectGiveUpNs = 300'000'000'000ULL;

std::optional<uint64_t> read_u64(xs::Client& client, const std::string& path) {
  auto v = client.read(path);
  if (!v.ok() || v->empty()) return std::nullopt;
  char* end = nullptr;
  unsigned long long n = strtoull(v->c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return n;
}

}  // namespace

Result<std::unique_ptr<BlkFront>> BlkFront::try_create(xs::Client& client, const std::string& device_path) {
  std::unique_ptr<BlkFront> front(new BlkFront);
  auto device = xs::XenbusDevice::try_create(client, device_path, *front, xs::Handshake::kViaInitialised);
  if (!device.ok()) return device.error();
  front->m_device = std::move(device.value());
  if (auto r = front->m_device->start(); !r.ok()) return r.error();
  return front;
}

BlkFront::~BlkFront() {
  // FIXME: an orderly close (close(), then wait for Closed) before the ring is
  // freed; devices live as long as the domain for now.
  while (!m_buffers.empty()) free_buffer(m_buffers.back().va);
  m_device.reset();
}

Result<void> BlkFront::wait_connected(uint64_t deadline_ns) {
  sched::wait_until(m_waiters, [this] { return m_handshake_done; }, deadline_ns);
  if (m_connected) return {};
  if (auto e = m_device->error()) return *e;
  return m_handshake_done ? Errno::kNoDev : Errno::kTimedOut;
}

Result<void> BlkFront::close(uint64_t deadline_ns) {
  m_device->close();
  sched::wait_until(m_waiters, [this] { return m_ring_freed; }, deadline_ns);
  return m_ring_freed ? Result<void>() : Result<void>(Errno::kTimedOut);
}

Result<void> BlkFront::reopen(uint64_t deadline_ns) {
  m_handshake_done = false;
  m_device->reopen();
  return wait_connected(deadline_ns);
}

Result<void> BlkFront::on_backend_ready(xs::XenbusDevice& device) {
  m_ring_freed = false;
  xs::Client& c = device.client();
  // As many queues as the backend allows (up to kMaxQueues); rings just big
  // enough that kMaxInFlight requests fit on them.
  uint64_t max_queues = read_u64(c, device.backend_key("multi-queue-max-queues")).value_or(1);
  uint64_t max_order = read_u64(c, device.backend_key("max-ring-page-order")).value_or(0);
  unsigned queues = max_queues < 1 ? 1 : max_queues > kMaxQueues ? kMaxQueues : static_cast<unsigned>(max_queues);
  unsigned order = ring_page_order_for(queues, kMaxInFlight, max_order > 4 ? 4 : static_cast<unsigned>(max_order));
  if (auto r = setup_ring(device.backend_id(), queues, order); !r.ok()) return r;
  return xs::transact(c, [&](xs::Transaction& t) -> Result<void> {
    // xen/io/blkif.h: ring-page-order only for a multi-page ring (then the
    // refs are ring-ref0..N), queue-<n>/ directories only for several queues.
    if (order > 0)
      if (auto r = t.write(device.key("ring-page-order"), std::to_string(order)); !r.ok()) return r;
    if (queues > 1)
      if (auto r = t.write(device.key("multi-queue-num-queues"), std::to_string(queues)); !r.ok()) return r;
    for (unsigned q = 0; q < queues; ++q)
      if (auto r = write_queue_keys(t, queues > 1 ? "queue-" + std::to_string(q) + "/" : "", q); !r.ok()) return r;
    // Our data pages are always a reused, persistently granted pool; the
    // backend may keep them mapped.
    if (auto r = t.write(device.key("feature-persistent"), "1"); !r.ok()) return r;
    return t.write(device.key("protocol"), "x86_64-abi");
  });
}

Result<void> BlkFront::write_queue_keys(xs::Transaction& t, const std::string& prefix, unsigned q) {
  const Queue& queue = m_queues[q];
  for (unsigned i = 0; i < (1u << m_ring_page_order); ++i) {
    std::string key = m_ring_page_order ? "ring-ref" + std::to_string(i) : std::string("ring-ref");
    if (auto r = t.write(m_device->key(prefix + key), std::to_string(queue.refs[i]->value())); !r.ok()) return r;
  }
  return t.write(m_device->key(prefix + "event-channel"), std::to_string(queue.port->value()));
}

Result<void> BlkFront::on_connected(xs::XenbusDevice& device) {
  xs::Client& c = device.client();
  auto sectors = read_u64(c, device.backend_key("sectors"));
  auto sector_size = read_u64(c, device.backend_key("sector-size"));
  if (!sectors || !sector_size) return Errno::kInval;
  // FIXME: logical sectors other than 512 bytes (the blkif ring counts in 512
  // anyway, but the API would have to say so).
  if (*sector_size != kSectorSize) return Errno::kOpNotSupp;
  m_sectors = *sectors;
  m_info = static_cast<uint32_t>(read_u64(c, device.backend_key("info")).value_or(0));
  m_feature_flush = read_u64(c, device.backend_key("feature-flush-cache")).value_or(0) == 1;
  m_feature_discard = read_u64(c, device.backend_key("feature-discard")).value_or(0) == 1;
  m_discard_granularity = static_cast<uint32_t>(read_u64(c, device.backend_key("discard-granularity")).value_or(512));
  m_feature_persistent = read_u64(c, device.backend_key("feature-persistent")).value_or(0) == 1;
  uint64_t indirect = read_u64(c, device.backend_key("feature-max-indirect-segments")).value_or(0);
  // Below 11 an indirect request would carry less than a direct one.
  m_max_segments = indirect <= BLKIF_MAX_SEGMENTS_PER_REQUEST ? BLKIF_MAX_SEGMENTS_PER_REQUEST
                   : indirect < kMaxIndirectSegments       ? static_cast<unsigned>(indirect)
                                                           : kMaxIndirectSegments;
  m_connected = true;
  m_handshake_done = true;
  m_waiters.wake_all();
  return {};
}

void BlkFront::on_closing(xs::XenbusDevice&) {
  // No new requests; those on the ring still complete or fail in on_closed().
  m_connected = false;
  m_waiters.wake_all();
}

void BlkFront::on_closed(xs::XenbusDevice& device) {
  m_connected = false;
  free_ring();
  m_ring_freed = true;
  if (device.error()) m_handshake_done = true;  // a failed setup: stop waiting
  m_waiters.wake_all();
}

Result<unsigned> probe() {
  if (!g_devices) g_devices = new std::vector<std::unique_ptr<BlkFront>>;
  return xs::probe_devices(*g_devices, "vbd", "blkfront", kConnectReportNs, kConnectGiveUpNs);
}

BlkFront* device(unsigned index) {
  if (!g_devices || index >= g_devices->size()) return nullptr;
  return (*g_devices)[index].get();
}

}  // namespace atl::blk
