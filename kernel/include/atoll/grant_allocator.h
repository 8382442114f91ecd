// The guest's free list of grant references. Pure bookkeeping (no hypercalls), so
// it is unit-tested natively. The reserved refs (0..7: console, xenstore, ...) are
// never handed out, and "no ref" is an empty Result, never a magic 0.
#pragma once

#include <stdint.h>
#include <stdlib.h>

#include "atoll/result.h"
#include "atoll/types.h"

namespace atl {

class GrantAllocator {
 public:
  static constexpr uint32_t kReserved = 8;  // GNTTAB_NR_RESERVED_ENTRIES
  static constexpr uint32_t kEnd = 0xFFFFFFFFu;

  GrantAllocator() = default;
  GrantAllocator(const GrantAllocator&) = delete;
  GrantAllocator& operator=(const GrantAllocator&) = delete;
  ~GrantAllocator() {
    free(m_next);
    free(m_is_free);
  }

  // Grows the pool to `capacity` refs (refs kReserved .. capacity-1 are usable).
  bool grow(uint32_t capacity) {
    if (capacity <= m_capacity) return true;
    auto* next = static_cast<uint32_t*>(realloc(m_next, capacity * sizeof(uint32_t)));
    if (!next) return false;
    m_next = next;
    auto* is_free = static_cast<uint8_t*>(realloc(m_is_free, capacity));
    if (!is_free) return false;
    m_is_free = is_free;
    for (uint32_t r = m_capacity; r < capacity; ++r) {
      m_next[r] = kEnd;
      m_is_free[r] = 0;
    }
    for (uint32_t r = capacity; r-- > (m_capacity > kReserved ? m_capacity : kReserved);) push(r);
    m_capacity = capacity;
    return true;
  }

  Result<GrantRef> allocate() {
    if (m_head == kEnd) return Errno::kNoSpc;
    uint32_t r = m_head;
    m_head = m_next[r];
    m_next[r] = kEnd;
    m_is_free[r] = 0;
    --m_free;
    return GrantRef(r);
  }

  // Returns false for refs that are reserved, out of range or already free.
  bool release(GrantRef ref) {
    uint32_t r = ref.value();
    if (r < kReserved || r >= m_capacity || m_is_free[r]) return false;
    push(r);
    return true;
  }

  uint32_t free_count() const { return m_free; }
  uint32_t capacity() const { return m_capacity; }

 private:
  void push(uint32_t r) {
    m_next[r] = m_head;
    m_head = r;
    m_is_free[r] = 1;
    ++m_free;
  }

  uint32_t* m_next = nullptr;
  uint8_t* m_is_free = nullptr;
  uint32_t m_head = kEnd;
  uint32_t m_capacity = 0;
  uint32_t m_free = 0;
};

}  // namespace atl
