#include "memory_budget.h"

#ifdef __atoll__
#include "atoll/memory.h"
#endif

namespace atl::httpd {
namespace {

// What a 503 costs while it is sent: a connection with an empty request
// buffer and a short reply. Refusals may overdraw the budget by an eighth.
constexpr uint64_t k_refusal_bytes = 2048;

}  // namespace

MemoryBudget::Admission MemoryBudget::admit(uint64_t room) const {
  if (m_limit == 0 || m_used + room <= m_limit) return Admission::Serve;
  if (m_used + k_refusal_bytes <= m_limit + m_limit / 8) return Admission::Refuse;
  return Admission::Drop;
}

void MemoryBudget::Charge::set(uint64_t bytes) {
  m_budget.m_used = m_budget.m_used - m_bytes + bytes;
  m_bytes = bytes;
}

uint64_t default_memory_budget() {
#ifdef __atoll__
  struct atoll_heap_info heap;
  atoll_heap_info(&heap);
  return (heap.limit - heap.in_use) / 2;
#else
  return 0;
#endif
}

}  // namespace atl::httpd
