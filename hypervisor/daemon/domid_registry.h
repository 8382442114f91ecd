// Domain ids as Xen hands them out here: the lowest free id from 1 up, so an
// id comes back into use once its domain is gone. 0 is the host (the daemon
// acts as domain 0); ids stop below Xen's reserved range (DOMID_FIRST_RESERVED).
#pragma once

#include <xen/xen.h>

#include <cstdint>
#include <optional>
#include <set>

namespace atl::hv::fleet {

class DomidRegistry {
 public:
  // The lowest free id, now taken; none when all are in use.
  std::optional<uint16_t> allocate() {
    // Every id below m_hint is in use, so the walk starts there.
    unsigned id = m_hint;
    for (auto it = m_used.lower_bound(static_cast<uint16_t>(id)); it != m_used.end() && *it == id; ++it) ++id;
    if (id >= DOMID_FIRST_RESERVED) return std::nullopt;
    m_used.insert(static_cast<uint16_t>(id));
    m_hint = id + 1;
    return static_cast<uint16_t>(id);
  }
  void release(uint16_t id) {
    if (m_used.erase(id) && id < m_hint) m_hint = id;
  }
  size_t size() const { return m_used.size(); }

 private:
  std::set<uint16_t> m_used;
  unsigned m_hint = 1;
};

}  // namespace atl::hv::fleet
