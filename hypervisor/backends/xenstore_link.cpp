#include "xenstore_link.h"

#include <xen/grant_table.h>

namespace atl::hv {

std::unique_ptr<XenstoreLink> XenstoreLink::try_create(Domain& domain, xs::Xenstored& store, std::string& error) {
  std::unique_ptr<XenstoreLink> link(new XenstoreLink(domain, store));
  auto map = domain.gnttab().map(GrantRef(GNTTAB_RESERVED_XENSTORE), DomId(0), true);
  if (!map.ok()) { error = "cannot map the xenstore ring's grant"; return nullptr; }
  link->m_map_handle = map->handle;
  const uint16_t domid = domain.domid();
  auto port = domain.connect_backend_port([&store, domid] { store.on_guest_event(domid); });
  if (!port.ok()) { error = "cannot allocate the xenstore event channel"; return nullptr; }
  store.create_domain_layout(domid, domain.config().name, domain.config().memory >> 10);
  store.introduce(domid, map->page.data(), [&domain, p = *port] { domain.notify_guest(p); });
  link->m_introduced = true;
  domain.set_store(hosted::kXenstorePageGpa >> 12, *port);
  return link;
}

XenstoreLink::~XenstoreLink() {
  if (m_introduced) {
    m_store.release(m_domain.domid());
    m_store.destroy_domain_layout(m_domain.domid());
  }
  if (m_map_handle) m_domain.gnttab().unmap(m_map_handle);
}

}  // namespace atl::hv
