// The block cache over a sector device, and the in-memory source.
#include "block_source.h"

#include <string.h>

#include <algorithm>

namespace atl::fs {

namespace {

constexpr size_t kSectorsPerBlock = CachedSource::kBlockSize / SectorDevice::kSectorSize;
constexpr uintptr_t kPage = 4096;

}  // namespace

CachedSource::CachedSource(SectorDevice& device, size_t blocks)
    : m_device(device),
      m_size(std::min<uint64_t>(device.sectors(), UINT64_MAX / SectorDevice::kSectorSize) * SectorDevice::kSectorSize),
      m_slots(std::max<size_t>(blocks, 1)) {
  // Page-aligned buffers: BlkFront grants them without bouncing.
  m_storage.reset(new uint8_t[(m_slots.size() + kMaxBatch) * kBlockSize + kPage - 1]);
  uintptr_t base = reinterpret_cast<uintptr_t>(m_storage.get());
  m_memory = reinterpret_cast<uint8_t*>((base + kPage - 1) & ~(kPage - 1));
  m_staging = m_memory + m_slots.size() * kBlockSize;
}

Result<void> CachedSource::read(uint64_t offset, void* buf, size_t len) {
  if (!in_bounds(offset, len, m_size)) return Errno::kRange;
  auto* out = static_cast<uint8_t*>(buf);
  uint64_t filled_end = 0;  // blocks below this were loaded by this call
  bool streaming = false;   // ... as a long run, left cold
  while (len > 0) {
    const uint64_t block = offset / kBlockSize;
    auto it = m_where.find(block);
    if (it == m_where.end()) {
      // Gather the run of missing blocks this read needs into one device read.
      const uint64_t last = (offset + len - 1) / kBlockSize;
      const size_t limit = std::min(kMaxBatch, m_slots.size());
      size_t run = 1;
      while (run < limit && block + run <= last && !m_where.count(block + run)) ++run;
      streaming = run >= kStreamBlocks;
      if (auto r = fill(block, run, streaming); !r.ok()) return r;
      filled_end = block + run;
      it = m_where.find(block);
    } else if (block >= filled_end) {
      ++m_stats.hits;
    }
    const uint32_t slot = it->second;
    if (!(streaming && block < filled_end)) {
      unlink(slot);
      push_front(slot);
    }
    const size_t in_block = offset % kBlockSize;
    const size_t n = std::min(len, kBlockSize - in_block);
    memcpy(out, data(slot) + in_block, n);
    out += n;
    offset += n;
    len -= n;
  }
  return {};
}

Result<void> CachedSource::fill(uint64_t first, size_t count, bool cold) {
  const uint64_t first_sector = first * kSectorsPerBlock;
  const uint64_t sectors = std::min<uint64_t>(count * kSectorsPerBlock, m_device.sectors() - first_sector);
  ++m_stats.device_reads;
  if (auto r = m_device.read_sectors(first_sector, m_staging, sectors); !r.ok()) return r;
  const uint64_t bytes = sectors * SectorDevice::kSectorSize;
  // Every slot first: a cold run goes in at the least recently used end,
  // where taking the next slot would otherwise evict the block just put there.
  uint32_t slots[kMaxBatch];
  for (size_t i = 0; i < count; ++i) slots[i] = take_slot();
  for (size_t i = 0; i < count; ++i) {
    const uint32_t slot = slots[i];
    const uint64_t begin = uint64_t{i} * kBlockSize;
    const size_t valid = begin >= bytes ? 0 : static_cast<size_t>(std::min<uint64_t>(kBlockSize, bytes - begin));
    memcpy(data(slot), m_staging + begin, valid);
    memset(data(slot) + valid, 0, kBlockSize - valid);
    m_slots[slot].block = first + i;
    m_where[first + i] = slot;
    if (cold) push_back(slot);
    else push_front(slot);
    ++m_stats.misses;
  }
  return {};
}

uint32_t CachedSource::take_slot() {
  if (m_unused < m_slots.size()) return m_unused++;
  const uint32_t slot = m_tail;
  unlink(slot);
  m_where.erase(m_slots[slot].block);
  return slot;
}

void CachedSource::unlink(uint32_t slot) {
  Slot& s = m_slots[slot];
  if (s.prev != kNone) m_slots[s.prev].next = s.next; else if (m_head == slot) m_head = s.next;
  if (s.next != kNone) m_slots[s.next].prev = s.prev; else if (m_tail == slot) m_tail = s.prev;
  s.prev = s.next = kNone;
}

void CachedSource::push_back(uint32_t slot) {
  Slot& s = m_slots[slot];
  s.next = kNone;
  s.prev = m_tail;
  if (m_tail != kNone) m_slots[m_tail].next = slot;
  m_tail = slot;
  if (m_head == kNone) m_head = slot;
}

void CachedSource::push_front(uint32_t slot) {
  Slot& s = m_slots[slot];
  s.prev = kNone;
  s.next = m_head;
  if (m_head != kNone) m_slots[m_head].prev = slot;
  m_head = slot;
  if (m_tail == kNone) m_tail = slot;
}

Result<void> MemorySource::read(uint64_t offset, void* buf, size_t len) {
  if (!in_bounds(offset, len, m_size)) return Errno::kRange;
  memcpy(buf, m_data + offset, len);
  return {};
}

}  // namespace atl::fs
