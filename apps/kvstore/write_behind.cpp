// WriteBehindDevice: the queue of extents and barriers, the one operation on
// the disk, and which write() calls are written and durable.
#include "write_behind.h"

#include <string.h>

#include <algorithm>

namespace kv {

WriteBehindDevice::WriteBehindDevice(std::unique_ptr<AsyncDisk> disk, size_t bound)
    : m_disk(std::move(disk)), m_bound(bound) {
  m_free.resize(kBuffers);
  for (auto& b : m_free) b.reserve(m_bound);
}

bool WriteBehindDevice::read(uint64_t offset, void* buf, size_t len) {
  if (!in_range(offset, len) || !drain()) return false;
  return len == 0 || m_disk->read(offset, buf, len);
}

bool WriteBehindDevice::write(uint64_t offset, const void* buf, size_t len) {
  if (m_failed || !in_range(offset, len)) return false;
  if (len == 0) return true;
  reap(false);
  // Back-pressure: a write that would take the queue past its bound, or
  // needs a buffer while both are busy, waits for the disk before it is
  // copied in; the server's one loop runs no new command meanwhile, and the
  // rest of a pipeline waits in the network.
  while (!m_failed && must_wait(offset, len)) {
    kick();
    if (must_wait(offset, len)) wait_once();
  }
  if (m_failed) return false;
  Item* last = extent_for(offset);
  if (!last) {
    m_queue.push_back(Item{offset, {}, 0, false, false});
    last = &m_queue.back();
  }
  // A small write's own buffer moves into one of the two once it would grow
  // past kSmallWrite and one is free (appends join it).
  if (!last->pooled && !m_free.empty() && (last->bytes.empty() || offset + len - last->at > kSmallWrite)) {
    std::vector<uint8_t> b = std::move(m_free.back());
    m_free.pop_back();
    b.assign(last->bytes.begin(), last->bytes.end());
    last->bytes = std::move(b);
    last->pooled = true;
  }
  // What overlays the extent is copied in place and the rest appended:
  // growing it first would zero-fill bytes only to overwrite them.
  size_t at = static_cast<size_t>(offset - last->at);
  size_t over = std::min(len, last->bytes.size() - at);
  const auto* src = static_cast<const uint8_t*>(buf);
  if (over > 0) memcpy(last->bytes.data() + at, src, over);
  last->bytes.insert(last->bytes.end(), src + over, src + len);
  m_queued_bytes += len - over;
  last->seq = ++m_seq;
  // Nothing starts here, so a flush() right after can carry the extent
  // (kWriteFlush); poll() starts it otherwise.
  return true;
}

WriteBehindDevice::Item* WriteBehindDevice::extent_for(uint64_t offset) {
  if (m_queue.empty() || m_queue.back().barrier) return nullptr;
  Item& last = m_queue.back();
  return offset >= last.at && offset <= last.at + last.bytes.size() ? &last : nullptr;
}

bool WriteBehindDevice::must_wait(uint64_t offset, size_t len) {
  if (!m_queue.empty() && m_queued_bytes + len > m_bound) return true;
  // Only a small write (a superblock) gets a buffer of its own.
  return m_free.empty() && len > kSmallWrite && !extent_for(offset);
}

bool WriteBehindDevice::flush() {
  if (!flush_async()) return false;
  uint64_t want = m_barrier;
  while (!m_failed && m_durable < want) wait_once();
  return !m_failed;
}

bool WriteBehindDevice::flush_async() {
  if (m_failed) return false;
  if (m_barrier < m_seq) {
    m_queue.push_back(Item{0, {}, m_seq, true});
    m_barrier = m_seq;
  }
  reap(false);
  kick();
  return !m_failed;
}

bool WriteBehindDevice::poll() {
  reap(false);
  kick();
  return !m_failed;
}

void WriteBehindDevice::wait_once() {
  if (!m_busy) kick();
  if (!m_busy) return;
  ++m_stats.waits;
  reap(true);
  kick();
}

void WriteBehindDevice::reap(bool wait) {
  if (!m_busy) return;
  std::optional<bool> done = m_disk->reap(wait);
  if (!done) return;
  InFlight op = *m_busy;
  m_busy.reset();
  if (op.pooled) release(std::move(m_inflight));
  m_inflight = {};
  if (!*done) {
    m_failed = true;
    return;
  }
  switch (op.op) {
    case AsyncDisk::Op::kWrite: m_completed = op.seq; break;
    case AsyncDisk::Op::kWriteFlush: m_completed = m_durable = op.seq; break;
    case AsyncDisk::Op::kFlush: m_durable = op.seq; break;
  }
}

// Back to the free pair, cleared; one that grew for a write bigger than the
// bound is traded for one of the bound's size.
void WriteBehindDevice::release(std::vector<uint8_t>&& bytes) {
  bytes.clear();
  if (bytes.capacity() > 2 * m_bound) {
    bytes = {};
    bytes.reserve(m_bound);
  }
  m_free.push_back(std::move(bytes));
}

void WriteBehindDevice::kick() {
  if (m_busy || m_failed || m_queue.empty()) return;
  Item& head = m_queue.front();
  if (head.barrier) {
    // Everything before it is on the disk (one operation at a time, in order).
    uint64_t seq = head.seq;
    m_queue.pop_front();
    start(AsyncDisk::Op::kFlush, 0, seq, false);
    return;
  }
  m_queued_bytes -= head.bytes.size();
  m_inflight = std::move(head.bytes);
  uint64_t at = head.at, seq = head.seq;
  bool pooled = head.pooled;
  m_queue.pop_front();
  if (!m_queue.empty() && m_queue.front().barrier && m_inflight.size() <= m_disk->write_flush_limit()) {
    seq = m_queue.front().seq;
    m_queue.pop_front();
    start(AsyncDisk::Op::kWriteFlush, at, seq, pooled);
  } else {
    start(AsyncDisk::Op::kWrite, at, seq, pooled);
  }
}

void WriteBehindDevice::start(AsyncDisk::Op op, uint64_t at, uint64_t seq, bool pooled) {
  switch (op) {
    case AsyncDisk::Op::kWrite: ++m_stats.writes; break;
    case AsyncDisk::Op::kWriteFlush: ++m_stats.write_flushes; break;
    case AsyncDisk::Op::kFlush: ++m_stats.flushes; break;
  }
  const void* buf = op == AsyncDisk::Op::kFlush ? nullptr : m_inflight.data();
  size_t len = op == AsyncDisk::Op::kFlush ? 0 : m_inflight.size();
  if (!m_disk->start(op, at, buf, len)) {
    m_failed = true;
    return;
  }
  m_busy = InFlight{op, seq, pooled};
}

bool WriteBehindDevice::drain() {
  while (!m_failed && (m_busy || !m_queue.empty())) wait_once();
  return !m_failed;
}

size_t WriteBehindDevice::buffered_bytes() const {
  size_t n = m_inflight.capacity();
  for (const auto& b : m_free) n += b.capacity();
  for (const Item& item : m_queue) n += item.bytes.capacity();
  return n;
}

}  // namespace kv
