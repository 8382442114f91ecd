// The append-only log: every write command, as RESP, in a record of the
// active region of a LogDevice (format in log_format.h), replayed at boot.
//
// Commands executed in one pass of the event loop are appended to a pending
// batch; commit() writes the batch in one device write, and flushes it under
// appendfsync=always before any reply of the pass is sent (group commit).
// A batch that passes kSpillBytes within a pass (a big pipeline, or one
// command's evictions, each logged as a DEL) is written out at once, as a
// commit's write, so the batch stays small; the commit at the pass's end
// still flushes everything written since the last flush before any reply.
// Compaction writes a snapshot of the live keys into the other region,
// flushes it, then publishes it with a superblock write and a flush: a crash
// at any moment leaves the old log or the new one, never a mix. Compaction's
// flushes are barriers (LogDevice::flush_async): on a write-behind device
// the server does not wait for them, yet nothing written after one reaches
// the disk before everything written before it is durable.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "keyspace.h"
#include "log_device.h"
#include "log_format.h"
#include "resp.h"

namespace kv {

enum class FsyncPolicy : uint8_t { kAlways, kEverySec, kNo };
const char* fsync_policy_name(FsyncPolicy policy);

// Where replayed commands go (the command dispatcher).
class ReplayTarget {
 public:
  virtual void apply(std::vector<std::string>& argv) = 0;

 protected:
  ~ReplayTarget() = default;
};

struct RecoveryReport {
  bool formatted = false;      // the device was blank and now holds an empty log
  uint64_t records = 0;        // replayed
  uint64_t log_bytes = 0;      // the log's length after recovery
  uint64_t dropped_bytes = 0;  // of a torn tail, cut off and zeroed
  uint64_t dropped_at = 0;     // the torn tail's device offset
};

class Aof {
 public:
  struct Settings {
    FsyncPolicy fsync = FsyncPolicy::kEverySec;
    uint64_t compact_min = 1u << 20;
  };
  enum class Status : uint8_t { kOk, kIoError, kNotALog, kTooSmall, kTooBig };
  static const char* describe(Status status);

  Aof(LogDevice& device, Settings settings) : m_dev(device), m_settings(settings) {}
  Aof(const Aof&) = delete;
  Aof& operator=(const Aof&) = delete;

  // Formats a blank device, or finds the newest superblock, replays the
  // active region into `target`, cuts and zeroes a torn tail, and starts a
  // new epoch. kNotALog: the device holds something else; it is not touched.
  Status open(ReplayTarget& target);
  const RecoveryReport& recovery() const { return m_report; }

  // Whether a command that logs at most `bytes` may run: true when the
  // region has room for it and a headroom (smaller for kShrinking commands,
  // so DEL and FLUSHALL still work on a full log), compacting first if not.
  enum class Room : uint8_t { kNormal, kShrinking };
  bool reserve(size_t bytes, Room room, const Keyspace& keys, int64_t now_ms);
  // 64 KiB: a read's worth of pipelined commands (server.h); the device
  // joins consecutive writes into one extent, so spilling costs a copy, not
  // a disk operation. The batch's buffer stays within twice this (one
  // record bigger than it aside), out of a 16 MiB guest's 13 MiB heap.
  static constexpr size_t kSpillBytes = 64 * 1024;
  template <typename Range>
  void append(const Range& args) {
    size_t start = logfmt::begin_record(m_pending);
    append_command(m_pending, args);
    logfmt::end_record(m_pending, start, m_sb.generation, m_sb.epoch);
    if (pending_bytes() >= kSpillBytes) spill();
  }
  // An expiry's DEL; skipped when the region has no room (replay expires the
  // key by its time anyway).
  void append_expired(std::string_view key);

  // Writes the pending batch (compacting instead when it does not fit);
  // under appendfsync=always, flushes everything written since the last
  // flush (the batch, the pass's spills, a compaction's snapshot); under
  // everysec and no the device may only queue the write. With nothing
  // pending, moves the device's queued I/O along. Any error other than kOk
  // is fatal.
  Status commit(const Keyspace& keys, int64_t now_ms);
  // The loop's timer: the everysec flush, started without waiting for it.
  Status tick(int64_t mono_ms);
  bool wants_compaction(const Keyspace& keys) const;
  // kTooBig: the snapshot does not fit a region; the old log stays active.
  Status compact(const Keyspace& keys, int64_t now_ms);

  uint64_t log_bytes() const { return m_end + pending_bytes(); }
  uint64_t base_bytes() const { return m_base; }
  uint64_t region_size() const { return m_sb.region_size; }
  uint64_t capacity() const { return m_dev.capacity(); }
  uint32_t generation() const { return m_sb.generation; }
  uint32_t epoch() const { return m_sb.epoch; }
  uint64_t compactions() const { return m_compactions; }
  FsyncPolicy fsync() const { return m_settings.fsync; }
  bool failed() const { return m_failed; }
  LogDevice::IoStats io_stats() const { return m_dev.io_stats(); }
  // Memory in the log's write buffers: maxmemory leaves it out (evicting
  // keys to make room for their own DELs would feed on itself).
  uint64_t buffer_bytes() const { return m_pending.capacity() + m_dev.buffered_bytes(); }

 private:
  class RegionReader;

  size_t pending_bytes() const { return m_pending.size() - m_tail; }
  uint64_t used() const { return m_end - m_tail + m_pending.size(); }
  Status format();
  Status replay(RegionReader& reader, ReplayTarget& target, uint32_t& last_epoch);
  Status torn_extent(RegionReader& reader, uint64_t pos, uint64_t& extent);
  Status cut_tail(RegionReader& reader, uint64_t extent);
  // Writes `buf` at region offset `start` (block aligned), zero-padded so
  // that at least kHeaderSize zero bytes follow it (the clean-end marker),
  // clipped at the region's end; `zero_to` extends the zeroes.
  bool write_padded(unsigned region, uint64_t start, std::string& buf, uint64_t zero_to = 0);
  bool write_pending(uint64_t zero_to = 0);
  // Writes the pending batch mid-pass (a write error is sticky: the pass's
  // commit reports it); left to the commit when it does not fit the region.
  void spill();
  bool zero_blocks(uint64_t from, uint64_t to);
  // Writes `next` into its slot and flushes (`wait`), or queues a barrier
  // after it (LogDevice::flush_async) so nothing later passes it.
  bool publish(logfmt::Superblock next, bool wait = true);
  Status write_snapshot(const Keyspace& keys, int64_t now_ms, const logfmt::Superblock& next, uint64_t& end,
                        std::string& tail);
  Status fail(Status s);

  LogDevice& m_dev;
  Settings m_settings;
  logfmt::Superblock m_sb;
  uint64_t m_end = 0;     // bytes of log in the active region that are on the device
  std::string m_pending;  // the last partial block's bytes, then the pending records
  size_t m_tail = 0;      // how many bytes of m_pending are that partial block
  bool m_unflushed = false;  // written since the last flush or barrier (everysec's timer)
  bool m_unsynced = false;   // written since the last flush waited for (always's commit)
  bool m_failed = false;
  int64_t m_last_flush_ms = 0;
  uint64_t m_base = 0;    // the log's size after the last compaction
  uint64_t m_compactions = 0;
  uint64_t m_blocked_live = UINT64_MAX;  // live bytes when a snapshot did not fit
  RecoveryReport m_report;
};

}  // namespace kv
