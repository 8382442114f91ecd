// XenbusDevice: the xenbus handshake on real xenstore keys.
#include "atoll/xenbus_device.h"

#include <utility>

#include <xen/xen.h>

namespace atl::xs {

std::optional<XenbusState> parse_xenbus_state(std::string_view value) {
  auto number = parse_decimal(first_field(value), XenbusStateReconfigured);
  if (!number) return std::nullopt;
  return static_cast<XenbusState>(*number);
}

Result<std::unique_ptr<XenbusDevice>> XenbusDevice::try_create(Client& client, std::string device_path,
                                                               XenbusDriver& driver, Handshake handshake) {
  while (device_path.size() > 1 && device_path.back() == '/') device_path.pop_back();
  if (device_path.empty()) return Errno::kInval;
  auto backend = client.read(device_path + "/backend");
  if (!backend.ok()) return backend.error();
  auto backend_id = client.read(device_path + "/backend-id");
  if (!backend_id.ok()) return backend_id.error();
  auto domid = parse_decimal(first_field(*backend_id), DOMID_FIRST_RESERVED - 1);
  std::string backend_path(first_field(*backend));
  if (!domid || backend_path.empty()) return Errno::kInval;
  return std::unique_ptr<XenbusDevice>(new XenbusDevice(client, std::move(device_path), std::move(backend_path),
                                                        DomId(static_cast<uint16_t>(*domid)), driver, handshake));
}

XenbusDevice::XenbusDevice(Client& client, std::string path, std::string backend_path, DomId backend_id,
                           XenbusDriver& driver, Handshake handshake)
    : m_client(client),
      m_path(std::move(path)),
      m_backend_path(std::move(backend_path)),
      m_backend_id(backend_id),
      m_driver(driver),
      m_frontend(*this, handshake) {}

Result<void> XenbusDevice::start() {
  if (m_watch.active()) return {};
  submit(Input::kStart);
  if (auto error = m_frontend.error()) return *error;
  // The watch fires once at once, so the backend's current state arrives too.
  auto watch = m_client.watch(backend_key("state"), [this](std::string_view) { submit(Input::kBackendChanged); });
  if (!watch.ok()) return watch.error();
  m_watch = std::move(*watch);
  return {};
}

void XenbusDevice::close() { submit(Input::kClose); }
void XenbusDevice::reopen() { submit(Input::kReopen); }

void XenbusDevice::submit(Input input) {
  // A backend change already queued will read the newest state anyway.
  bool queued = false;
  for (Input pending : m_inputs) queued |= (pending == input && input == Input::kBackendChanged);
  if (!queued) m_inputs.push_back(input);
  if (m_busy) return;
  m_busy = true;
  while (!m_inputs.empty()) {
    Input next = m_inputs.front();
    m_inputs.pop_front();
    apply(next);
  }
  m_busy = false;
}

void XenbusDevice::apply(Input input) {
  switch (input) {
    case Input::kStart: return m_frontend.start();
    case Input::kBackendChanged: return m_frontend.backend_changed(read_backend_state());
    case Input::kClose: return m_frontend.close();
    case Input::kReopen: return m_frontend.reopen();
  }
}

// A missing node means the backend is gone. A value we cannot read or parse is
// Unknown, which the state machine ignores, as Linux's xenbus does.
std::optional<XenbusState> XenbusDevice::read_backend_state() {
  auto value = m_client.read(backend_key("state"));
  if (!value.ok()) {
    if (value.error() == Errno::kNoEnt) return std::nullopt;
    return XenbusStateUnknown;
  }
  return parse_xenbus_state(*value).value_or(XenbusStateUnknown);
}

// Like Linux's xenbus_switch_state: in one transaction with a check that the
// device still exists, so a device the toolstack removed is not recreated.
Result<void> XenbusDevice::publish_state(XenbusState state) {
  return transact(m_client, [&](Transaction& t) -> Result<void> {
    auto backend = t.read(key("backend"));
    if (!backend.ok()) return backend.error();
    return t.write(key("state"), std::to_string(static_cast<int>(state)));
  });
}

}  // namespace atl::xs
