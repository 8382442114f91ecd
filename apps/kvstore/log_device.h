// The durable store under the append-only log: a disk of fixed capacity,
// addressed in bytes but read and written in whole 512-byte blocks, so the
// same log code runs on a guest's virtual disk (BlockLogDevice over blkfront)
// and on a regular file used as a disk (FileLogDevice). The log's layout is
// in log_format.h.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <string>

namespace kv {

class LogDevice {
 public:
  static constexpr size_t kBlockSize = 512;

  virtual ~LogDevice() = default;
  // Bytes; a multiple of kBlockSize.
  virtual uint64_t capacity() const = 0;
  // `offset` and `len` are multiples of kBlockSize and the range lies within
  // capacity(); false on any error (a misaligned request is one). A write may
  // only be queued (WriteBehindDevice): later reads see it, the disk gets it
  // in order, and an I/O error shows in a later call.
  virtual bool read(uint64_t offset, void* buf, size_t len) = 0;
  virtual bool write(uint64_t offset, const void* buf, size_t len) = 0;
  // Everything written before the call is durable once it returns true.
  virtual bool flush() = 0;
  // A barrier: everything written so far becomes durable, and before
  // anything written later reaches the disk, without waiting for it (the
  // everysec timer, compaction); false on an error. Synchronous devices just
  // flush.
  virtual bool flush_async() { return flush(); }
  // Moves queued I/O along without blocking; false once an I/O failed.
  virtual bool poll() { return true; }

  // For INFO: operations sent to the disk, and times a caller blocked on it
  // (a write, flush or read that had to wait). Synchronous devices count none.
  struct IoStats {
    uint64_t writes = 0;  // carrying a flush or not
    uint64_t flushes = 0;  // bare, or carried by a write
    uint64_t waits = 0;
  };
  virtual IoStats io_stats() const { return {}; }
  // Bytes of memory holding writes not yet on the disk (maxmemory does not
  // count them, as Redis does not count its AOF buffers).
  virtual size_t buffered_bytes() const { return 0; }
};

inline bool block_aligned(uint64_t offset, size_t len) {
  return offset % LogDevice::kBlockSize == 0 && len % LogDevice::kBlockSize == 0;
}

// Native: the file at `path` as a disk of at least `capacity` bytes (a shorter
// file is extended, sparsely). nullptr with `error` set on failure.
std::unique_ptr<LogDevice> try_open_file_log_device(const std::string& path, uint64_t capacity, std::string& error);

// Guest (block_log_device.cpp): the first disk atl::blk::probe() finds.
std::unique_ptr<LogDevice> try_open_block_log_device(std::string& error);

}  // namespace kv
