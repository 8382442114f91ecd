// blkfront's persistent grants (xen/io/blkif.h, feature-persistent): pages
// granted to the backend once and reused by request after request, data copied
// into and out of them, so neither side grants, maps or unmaps per request.
//
// Header-only and independent of the grant table: `Granter` does the granting
// (blkfront's talks to gnttab, the unit test's is a fake), so the pool's rules
// are tested natively:
//   - get() hands out the most recently returned page first (LIFO), so the
//     backend's bounded mapping cache keeps hitting the same refs;
//   - it grants a new page only when none is free and fewer than `max_pages`
//     exist, and answers nullopt otherwise (the caller waits for a put());
//   - release_all() ends every grant; a page the backend still maps is leaked,
//     never reused or freed.
#pragma once

#include <stddef.h>

#include <optional>
#include <vector>

#include "atoll/types.h"

namespace atl::blk {

struct PooledPage {
  void* va = nullptr;
  GrantRef ref{0};
};

// Granter: std::optional<PooledPage> grant_page() (a new page, granted
// read-write); bool end_grant(const PooledPage&) (false: still mapped, keep
// it); void free_page(const PooledPage&).
template <typename Granter>
class GrantPool {
 public:
  GrantPool(Granter granter, size_t max_pages) : m_granter(granter), m_max(max_pages) {}
  GrantPool(const GrantPool&) = delete;
  GrantPool& operator=(const GrantPool&) = delete;
  ~GrantPool() { release_all(); }

  std::optional<PooledPage> get() {
    if (!m_free.empty()) {
      PooledPage p = m_free.back();
      m_free.pop_back();
      return p;
    }
    if (m_granted >= m_max) return std::nullopt;
    auto p = m_granter.grant_page();
    if (p) ++m_granted;
    return p;
  }
  void put(const PooledPage& page) { m_free.push_back(page); }

  // Pages granted (in use or free) and pages free.
  size_t granted() const { return m_granted; }
  size_t free_pages() const { return m_free.size(); }
  size_t max_pages() const { return m_max; }
  // Would get() succeed without waiting for a put()?
  size_t available() const { return m_free.size() + (m_max - m_granted); }

  // Ends the grants of the free pages (pages still out are the caller's to
  // put() first); returns how many the backend still mapped and were leaked.
  size_t release_all() {
    size_t leaked = 0;
    for (const PooledPage& p : m_free) {
      if (m_granter.end_grant(p)) m_granter.free_page(p);
      else ++leaked;
    }
    m_granted -= m_free.size();
    m_free.clear();
    return leaked;
  }

 private:
  Granter m_granter;
  size_t m_max;
  size_t m_granted = 0;
  std::vector<PooledPage> m_free;
};

}  // namespace atl::blk
