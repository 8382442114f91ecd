// Connects a domain to the hypervisor's xenstored the way Xen's toolstack does:
// writes the domain's standard layout, maps its xenstore ring through the
// reserved grant (GNTTAB_RESERVED_XENSTORE), connects its store event channel and
// introduces it; on destruction releases it and removes the layout.
#pragma once

#include <memory>
#include <string>

#include "domain.h"
#include "xenstored.h"

namespace atl::hv {

class XenstoreLink {
 public:
  static std::unique_ptr<XenstoreLink> try_create(Domain& domain, xs::Xenstored& store, std::string& error);
  ~XenstoreLink();
  XenstoreLink(const XenstoreLink&) = delete;
  XenstoreLink& operator=(const XenstoreLink&) = delete;

 private:
  XenstoreLink(Domain& domain, xs::Xenstored& store) : m_domain(domain), m_store(store) {}

  Domain& m_domain;
  xs::Xenstored& m_store;
  uint64_t m_map_handle = 0;
  bool m_introduced = false;
};

}  // namespace atl::hv
