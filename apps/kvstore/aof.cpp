// Appending to the log (group commit, fsync policies) and compaction.
#include "aof.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "timeutil.h"

namespace kv {

using logfmt::kBlock;
using logfmt::kHeaderSize;

namespace {

// A pending batch's buffer is kept up to this size; one that grew past it
// (a record bigger than the spill size) is given back once written.
constexpr size_t kKeepCapacity = 2 * Aof::kSpillBytes;

uint64_t round_up(uint64_t v) { return (v + kBlock - 1) / kBlock * kBlock; }

}  // namespace

bool Aof::write_padded(unsigned region, uint64_t start, std::string& buf, uint64_t zero_to) {
  size_t data = buf.size();
  uint64_t want = std::max(round_up(data + kHeaderSize), zero_to > start ? round_up(zero_to - start) : 0);
  want = std::min(want, m_sb.region_size - start);
  if (data > want) return false;  // callers check room first; never write past the region
  buf.resize(want, '\0');
  bool ok = m_dev.write(m_sb.region_offset[region] + start, buf.data(), want);
  buf.resize(data);
  return ok;
}

bool Aof::write_pending(uint64_t zero_to) {
  uint64_t start = m_end - m_tail;
  if (!write_padded(m_sb.active, start, m_pending, zero_to)) return false;
  m_end = start + m_pending.size();
  size_t keep = m_end % kBlock;
  m_pending.erase(0, m_pending.size() - keep);
  if (m_pending.capacity() > kKeepCapacity) m_pending.shrink_to_fit();
  m_tail = keep;
  m_unflushed = m_unsynced = true;
  return true;
}

void Aof::spill() {
  if (m_failed || used() > m_sb.region_size) return;
  if (!write_pending()) (void)fail(Status::kIoError);
}

bool Aof::zero_blocks(uint64_t from, uint64_t to) {
  from = round_up(from);
  to = std::min(round_up(to), m_sb.region_size);
  std::string zeroes(std::min<uint64_t>(to > from ? to - from : 0, 64 * 1024), '\0');
  for (uint64_t at = from; at < to; at += zeroes.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(zeroes.size(), to - at));
    if (!m_dev.write(m_sb.active_offset() + at, zeroes.data(), n)) return false;
  }
  return true;
}

bool Aof::publish(logfmt::Superblock next, bool wait) {
  next.seq = m_sb.seq + 1;
  alignas(16) uint8_t block[kBlock];
  logfmt::encode_superblock(next, block);
  if (!m_dev.write(logfmt::kSlotOffset[next.slot()], block, kBlock)) return false;
  if (!(wait ? m_dev.flush() : m_dev.flush_async())) return false;
  m_sb = next;
  m_unflushed = false;
  m_unsynced = !wait;  // a barrier orders the writes; it does not wait for them
  return true;
}

bool Aof::reserve(size_t bytes, Room room, const Keyspace& keys, int64_t now_ms) {
  uint64_t size = m_sb.region_size;
  uint64_t headroom = room == Room::kNormal ? std::min<uint64_t>(256 * 1024, size / 8)
                                            : std::min<uint64_t>(64 * 1024, size / 32);
  auto fits = [&] { return bytes <= UINT32_MAX && used() + bytes + headroom <= size; };
  if (fits() || m_failed) return fits();
  // kTooBig leaves the old log (the command is refused); kIoError is sticky
  // and ends the server at the pass's commit.
  if (keys.live_bytes() < m_blocked_live) (void)compact(keys, now_ms);
  return fits();
}

void Aof::append_expired(std::string_view key) {
  if (used() + key.size() + 64 > m_sb.region_size) return;
  append(std::initializer_list<std::string_view>{"DEL", key});
}

Aof::Status Aof::commit(const Keyspace& keys, int64_t now_ms) {
  if (m_failed) return Status::kIoError;
  if (pending_bytes() > 0 && used() > m_sb.region_size) {
    // A batch that does not fit: the snapshot holds its effects.
    if (Status s = compact(keys, now_ms); s != Status::kOk) return s;
  } else if (pending_bytes() > 0 && !write_pending()) {
    return fail(Status::kIoError);
  }
  // Under always, whatever this pass wrote (its spills, a compaction, the
  // batch) is durable before the replies, even when nothing was left pending.
  if (m_settings.fsync == FsyncPolicy::kAlways && m_unsynced) {
    if (!m_dev.flush()) return fail(Status::kIoError);
    m_unflushed = m_unsynced = false;
    m_last_flush_ms = monotonic_ms();
    return Status::kOk;
  }
  return m_dev.poll() ? Status::kOk : fail(Status::kIoError);  // starts a queued write if the disk is free
}

Aof::Status Aof::tick(int64_t mono_ms) {
  if (m_failed) return Status::kIoError;
  if (!m_dev.poll()) return fail(Status::kIoError);
  if (m_settings.fsync != FsyncPolicy::kEverySec || !m_unflushed || mono_ms - m_last_flush_ms < 1000)
    return Status::kOk;
  // Started, not waited for: the server goes on serving while the disk syncs.
  if (!m_dev.flush_async()) return fail(Status::kIoError);
  m_unflushed = false;
  m_last_flush_ms = mono_ms;
  return Status::kOk;
}

// Compacts when the log is at least compact_min and twice both a snapshot's
// estimated size and its own size after the last compaction, or when it
// fills three quarters of its region and has grown by an eighth since.
bool Aof::wants_compaction(const Keyspace& keys) const {
  uint64_t size = log_bytes();
  if (m_failed || keys.live_bytes() >= m_blocked_live) return false;
  uint64_t estimate = keys.live_bytes() + 16 * keys.size() + 72 * keys.expires();
  if (size >= m_settings.compact_min && size >= 2 * estimate && size >= 2 * m_base) return true;
  return size >= m_sb.region_size / 4 * 3 && size >= m_base + m_sb.region_size / 8;
}

Aof::Status Aof::compact(const Keyspace& keys, int64_t now_ms) {
  if (m_failed) return Status::kIoError;
  logfmt::Superblock next = m_sb;
  next.active = 1 - m_sb.active;
  next.generation = m_sb.generation + 1;
  uint64_t end = 0;
  std::string tail;
  Status s = write_snapshot(keys, now_ms, next, end, tail);
  if (s == Status::kTooBig) {
    m_blocked_live = keys.live_bytes();  // the old log stays; retry once data shrinks
    return s;
  }
  if (s != Status::kOk) return fail(s);
  // The switch: until this superblock is durable, a crash boots the old log.
  // Barriers, not waits (a device may queue them): the snapshot is durable
  // before the superblock reaches the disk, and the superblock before any
  // later write (appends to the new region, the next compaction's snapshot
  // over the old one).
  if (!publish(next, false)) return fail(Status::kIoError);
  m_end = m_base = end;
  m_tail = tail.size();
  m_pending = std::move(tail);  // the pending batch is dropped: the snapshot holds its effects
  m_blocked_live = UINT64_MAX;
  ++m_compactions;
  return Status::kOk;
}

}  // namespace kv
