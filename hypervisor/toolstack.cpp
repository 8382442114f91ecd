#include "toolstack.h"

namespace atl::hv {

RunChecked<std::unique_ptr<DomainInstance>> DomainInstance::try_create(EventLoop& loop, xs::Xenstored& store,
                                                                      const DomainPlan& plan, uint16_t domid,
                                                                      Wiring wiring) {
  std::string error;
  std::unique_ptr<DomainInstance> d(new DomainInstance);
  d->m_image = plan.image;
  d->m_domain = Domain::try_create(loop, plan.config, *plan.image->elf, domid, error);
  if (!d->m_domain) return RunError{"cannot create the domain: " + error};
  Domain& domain = *d->m_domain;
  d->m_console = ConsoleBackend::try_create(domain, std::move(wiring.console), error);
  if (!d->m_console) return RunError{"cannot set up the console: " + error};
  d->m_store_link = XenstoreLink::try_create(domain, store, error);
  if (!d->m_store_link) return RunError{"cannot connect xenstore: " + error};
  for (size_t i = 0; i < plan.disks.size(); ++i) {
    auto blk = BlkBack::try_create(domain, store, loop, plan.disks[i], vbd_devid(static_cast<unsigned>(i)), error);
    if (!blk) return RunError{error};
    d->m_blkbacks.push_back(std::move(blk));
  }
  if (wiring.uplinks.size() != plan.vifs.size()) return RunError{"every vif needs an uplink"};
  for (size_t i = 0; i < plan.vifs.size(); ++i) {
    auto net = NetBack::try_create(domain, store, loop, plan.vifs[i], static_cast<uint32_t>(i), *wiring.uplinks[i], error);
    if (!net) return RunError{error};
    d->m_netbacks.push_back(std::move(net));
  }
  if (!domain.start(error, wiring.sandboxes)) return RunError{"cannot start the domain: " + error};
  return d;
}

}  // namespace atl::hv
