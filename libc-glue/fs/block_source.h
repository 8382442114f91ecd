// Byte sources for archives: CachedSource reads a sector device (a BlkFront in
// the guest, a fake in unit tests) through a small LRU cache of 4 KiB blocks;
// MemorySource reads an archive sealed into the image.
//
// The cache resists scans: blocks one read() loads as a long run (a file
// streamed through in big reads) go in at the least recently used end and
// stay there until read again, so streaming a file larger than the cache
// neither flushes the blocks in use nor misses on every block when the same
// file is streamed again (plain LRU would, for a file one block too big).
//
// Not thread-safe: a device read blocks the calling thread, so the guest wraps
// each CachedSource's reads in a lock (vfs.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <unordered_map>
#include <vector>

#include "atoll/result.h"
#include "byte_source.h"

namespace atl::fs {

// Whole 512-byte sectors.
class SectorDevice {
 public:
  static constexpr size_t kSectorSize = 512;
  virtual ~SectorDevice() = default;
  virtual uint64_t sectors() const = 0;
  virtual Result<void> read_sectors(uint64_t sector, void* buf, size_t count) = 0;
};

class CachedSource final : public ByteSource {
 public:
  static constexpr size_t kBlockSize = 4096;
  static constexpr size_t kDefaultBlocks = 256;  // 1 MiB
  // Misses next to each other are read from the device in one request of up
  // to this many blocks.
  static constexpr size_t kMaxBatch = 32;
  // A run of at least this many missing blocks is streaming (see above).
  static constexpr size_t kStreamBlocks = 8;

  struct Stats {
    uint64_t hits = 0;          // blocks found in the cache
    uint64_t misses = 0;        // blocks read from the device
    uint64_t device_reads = 0;  // read_sectors calls
  };

  // `blocks` >= 1; the cache (blocks * 4 KiB, page-aligned) is allocated here.
  CachedSource(SectorDevice& device, size_t blocks = kDefaultBlocks);

  uint64_t size() const override { return m_size; }
  Result<void> read(uint64_t offset, void* buf, size_t len) override;

  const Stats& stats() const { return m_stats; }
  size_t capacity() const { return m_slots.size(); }
  bool cached(uint64_t block) const { return m_where.count(block) != 0; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Slot {
    uint64_t block = 0;
    uint32_t prev = kNone;  // towards the most recently used
    uint32_t next = kNone;  // towards the least recently used
  };

  // Loads blocks [first, first + count) (all missing) through the staging
  // buffer, at the most recently used end, or with `cold` the least.
  Result<void> fill(uint64_t first, size_t count, bool cold);
  uint32_t take_slot();  // a free slot, or the least recently used one, unlinked
  void unlink(uint32_t slot);
  void push_front(uint32_t slot);
  void push_back(uint32_t slot);
  uint8_t* data(uint32_t slot) { return m_memory + size_t{slot} * kBlockSize; }

  SectorDevice& m_device;
  uint64_t m_size;
  std::unique_ptr<uint8_t[]> m_storage;  // slots, then the staging buffer, page-aligned inside
  uint8_t* m_memory = nullptr;
  uint8_t* m_staging = nullptr;
  std::vector<Slot> m_slots;
  std::unordered_map<uint64_t, uint32_t> m_where;  // block -> slot
  uint32_t m_head = kNone;  // most recently used
  uint32_t m_tail = kNone;  // least recently used
  uint32_t m_unused = 0;    // slots [m_unused, size) have never held a block
  Stats m_stats;
};

class MemorySource final : public ByteSource {
 public:
  MemorySource(const void* data, size_t size) : m_data(static_cast<const uint8_t*>(data)), m_size(size) {}
  uint64_t size() const override { return m_size; }
  Result<void> read(uint64_t offset, void* buf, size_t len) override;

 private:
  const uint8_t* m_data;
  size_t m_size;
};

}  // namespace atl::fs
