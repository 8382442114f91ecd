// WriteBehindDevice: a LogDevice over an asynchronous disk that never makes a
// write wait for the disk. Writes and flushes join a queue of extents and
// barriers; one operation is on the disk at a time, taken from the queue's
// head, so the disk sees everything in the order it was asked. A write
// contiguous with (or overlapping) the queue's last extent joins it: the log
// appends at its end, rewriting its partial last block, so while the disk is
// busy the passes' appends grow one extent, and the next poll() after the
// disk is free sends it as one write.
//
// A barrier (flush_async) makes everything written before it durable before
// anything written after it reaches the disk, without waiting: the everysec
// timer and compaction use it. flush() queues one and waits for it. An
// extent of at most write_flush_limit() bytes just before a barrier goes
// with it as one operation (kWriteFlush: one round trip).
//
// Memory: the device owns two buffers of the bound's size for its life,
// reserved when it is made, and the extent being filled and the one on the
// disk take turns with them; only a small write off the extent (a
// superblock) gets one of its own while both are busy, and moves into one
// once it grows. A write that would take the queue past the bound, or needs
// a buffer while both are busy, waits for the disk (back-pressure). So a
// burst allocates nothing, and a long-running guest cannot lose the buffers
// to fragmentation: freeing and regrowing extents of hundreds of KiB among a
// million small keys left a 16 MiB guest with 3.3 MiB free and no hole for
// a 424 KiB extent (measured).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "log_device.h"

namespace kv {

// What WriteBehindDevice needs of a disk: one operation at a time, started
// and later reaped. Offsets and lengths are multiples of LogDevice::kBlockSize.
class AsyncDisk {
 public:
  enum class Op : uint8_t {
    kWrite,
    kWriteFlush,  // the write, then durable along with every write completed before it
    kFlush,       // every write completed before it becomes durable
  };

  virtual ~AsyncDisk() = default;
  virtual uint64_t capacity() const = 0;
  // Blocking; only called while no operation is started.
  virtual bool read(uint64_t offset, void* buf, size_t len) = 0;
  // Starts `op`; `buf` stays put until it is reaped. false: it did not start.
  virtual bool start(Op op, uint64_t offset, const void* buf, size_t len) = 0;
  // The started operation's outcome once it is done (true: it succeeded),
  // nullopt while it runs. `wait`: blocks until it is done.
  virtual std::optional<bool> reap(bool wait) = 0;
  // The most bytes a kWriteFlush carries in one round trip.
  virtual size_t write_flush_limit() const = 0;
};

class WriteBehindDevice final : public LogDevice {
 public:
  static constexpr size_t kDefaultBound = 4u << 20;

  static constexpr size_t kBuffers = 2;
  static constexpr size_t kSmallWrite = 4096;

  explicit WriteBehindDevice(std::unique_ptr<AsyncDisk> disk, size_t bound = kDefaultBound);
  ~WriteBehindDevice() override { (void)drain(); }

  uint64_t capacity() const override { return m_disk->capacity(); }
  bool read(uint64_t offset, void* buf, size_t len) override;
  bool write(uint64_t offset, const void* buf, size_t len) override;
  bool flush() override;
  // A barrier: does not wait.
  bool flush_async() override;
  bool poll() override;
  IoStats io_stats() const override {
    return {m_stats.writes + m_stats.write_flushes, m_stats.flushes + m_stats.write_flushes, m_stats.waits};
  }

  struct Stats {
    uint64_t writes = 0;       // kWrite operations started
    uint64_t write_flushes = 0;
    uint64_t flushes = 0;      // bare kFlush operations started
    uint64_t waits = 0;        // times a call blocked for the disk
  };
  size_t buffered_bytes() const override;
  const Stats& stats() const { return m_stats; }
  size_t queued_bytes() const { return m_queued_bytes; }
  bool busy() const { return m_busy.has_value(); }

 private:
  // An extent of writes, or (empty, barrier set) a barrier.
  struct Item {
    uint64_t at = 0;
    std::vector<uint8_t> bytes;
    uint64_t seq = 0;  // the last write() it carries, or that a barrier covers
    bool barrier = false;
    bool pooled = false;  // bytes is one of the device's two buffers
  };
  struct InFlight {
    AsyncDisk::Op op;
    uint64_t seq;
    bool pooled;
  };

  bool in_range(uint64_t offset, size_t len) const {
    return block_aligned(offset, len) && offset <= capacity() && len <= capacity() - offset;
  }
  // The queue's last extent when a write at `offset` joins it.
  Item* extent_for(uint64_t offset);
  bool must_wait(uint64_t offset, size_t len);
  void release(std::vector<uint8_t>&& bytes);
  // Reaps the operation on the disk, if it is done (`wait`: once it is).
  void reap(bool wait);
  // Starts the queue's head when the disk is free.
  void kick();
  void start(AsyncDisk::Op op, uint64_t at, uint64_t seq, bool pooled);
  void wait_once();
  // Until the queue is empty and the disk free.
  bool drain();

  std::unique_ptr<AsyncDisk> m_disk;
  size_t m_bound;
  std::deque<Item> m_queue;
  size_t m_queued_bytes = 0;
  std::vector<uint8_t> m_inflight;  // the bytes of the operation on the disk
  std::vector<std::vector<uint8_t>> m_free;  // of the two buffers, those not in use
  std::optional<InFlight> m_busy;
  // write() calls are numbered; each counter is the last one that got so far.
  uint64_t m_seq = 0;
  uint64_t m_completed = 0;  // written
  uint64_t m_durable = 0;    // written and flushed
  uint64_t m_barrier = 0;    // covered by the last barrier queued
  bool m_failed = false;     // sticky
  Stats m_stats;
};

}  // namespace kv
