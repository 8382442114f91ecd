// The xenstore side shared by blkback and netback (backend_device.h).
#include "backend_device.h"

#include <cstdio>

#include "xenbus_backend.h"

namespace atl::hv {

BackendDevice::BackendDevice(Domain& domain, xs::Xenstored& store, const char* type, uint32_t devid)
    : m_domain(domain), m_store(store), m_type(type), m_devid(devid) {
  std::string d = std::to_string(domain.domid()), n = std::to_string(devid);
  m_fe_path = "/local/domain/" + d + "/device/" + type + "/" + n;
  m_be_path = "/local/domain/0/backend/" + std::string(type) + "/" + d + "/" + n;
}

BackendDevice::~BackendDevice() {
  if (m_watch) m_store.unwatch(m_watch);
}

void BackendDevice::publish(const std::map<std::string, std::string>& backend_keys,
                            const std::map<std::string, std::string>& frontend_keys) {
  m_store.create_device_layout(m_domain.domid(), m_type, m_devid, backend_keys, frontend_keys);
  set_state(XenbusStateInitWait);
  m_watch = m_store.watch(m_fe_path + "/state", [this](const std::string&) { on_frontend_state(); });
  std::weak_ptr<bool> alive = m_alive;
  m_domain.on_end([this, alive] {
    if (!alive.expired()) disconnect();
  });
}

void BackendDevice::set_state(XenbusState state) {
  m_state = state;
  (void)m_store.write(m_be_path + "/state", std::to_string(static_cast<int>(state)));
}

void BackendDevice::fail(const char* why) {
  fprintf(stderr, "atoll: dom%u %s %u: %s; disconnecting the %s\n", m_domain.domid(), m_type, m_devid, why, m_type);
  disconnect();
  set_state(XenbusStateClosing);
}

void BackendDevice::on_frontend_state() {
  auto text = m_store.read(m_fe_path + "/state");
  BackendReaction r = react_to_frontend(text.ok() ? std::optional(text.value()) : std::nullopt, m_state);
  if (r.disconnect) disconnect();
  if (r.connect) {
    if (auto c = connect_from_keys(); !c.ok()) {
      fprintf(stderr, "atoll: dom%u %s %u: cannot connect to the frontend's rings (error %d)\n", m_domain.domid(),
              m_type, m_devid, to_int(c.error()));
      disconnect();
      set_state(XenbusStateClosing);
      return;
    }
    set_state(XenbusStateConnected);
    on_connected();
  }
  if (r.state) set_state(*r.state);
}

}  // namespace atl::hv
