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
    uint16_t id = 1;
    for (uint16_t used : m_used) {  // ascending: the first gap is the lowest free id
      if (used != id) break;
      ++id;
    }
    if (id >= DOMID_FIRST_RESERVED) return std::nullopt;
    m_used.insert(id);
    return id;
  }
  void release(uint16_t id) { m_used.erase(id); }
  size_t size() const { return m_used.size(); }

 private:
  std::set<uint16_t> m_used;
};

}  // namespace atl::hv::fleet
