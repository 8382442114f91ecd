// A xenbus frontend device: the handshake of xenbus_frontend.h wired to
// xenstore. Given "device/<type>/<id>" it reads `backend` and `backend-id`,
// drives its own `state` key, watches <backend>/state, and calls the driver's
// hooks at each step. A split driver (netfront, blkfront, ...) implements
// XenbusDriver and keeps only its keys and rings. docs/xenbus.md has the protocol.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "atoll/result.h"
#include "atoll/types.h"
#include "atoll/xenbus_frontend.h"
#include "atoll/xenstore.h"

namespace atl::xs {

class XenbusDevice;

// The steps a frontend driver supplies. They run one at a time, mostly in the
// xenstore thread (from the backend-state watch), and may issue xenstore requests.
class XenbusDriver {
 public:
  // The backend waits (InitWait): set up rings and event channels and write
  // their keys (ring-ref, event-channel, ...) under device.path(), in one
  // transaction. If this fails, on_closed() still follows to free what was made.
  virtual Result<void> on_backend_ready(XenbusDevice& device) = 0;
  // Both halves are connected: read the backend's keys and start I/O.
  virtual Result<void> on_connected(XenbusDevice& device) = 0;
  // The backend is going away: stop I/O. It may still map the rings.
  virtual void on_closing(XenbusDevice& device) = 0;
  // The backend let go: free rings, grants and event channels. on_backend_ready()
  // may run again afterwards, when the device reconnects.
  virtual void on_closed(XenbusDevice& device) = 0;

 protected:
  ~XenbusDriver() = default;
};

class XenbusDevice final : private XenbusFrontend::Actions {
 public:
  // `device_path` is "device/<type>/<id>" (relative to the domain's home) or an
  // absolute path. Fails when `backend` or `backend-id` is missing or malformed.
  static Result<std::unique_ptr<XenbusDevice>> try_create(Client& client, std::string device_path,
                                                          XenbusDriver& driver, Handshake handshake);
  // Stops watching; does not close the device (call close() first for that).
  ~XenbusDevice() = default;

  // Publishes Initialising and watches the backend's state; the handshake goes
  // on from the watch.
  Result<void> start();
  // An orderly close (Closing, then Closed when the backend follows); no
  // reconnect until reopen(). Both take effect after any step in progress.
  void close();
  void reopen();

  Client& client() { return m_client; }
  const std::string& path() const { return m_path; }
  const std::string& backend_path() const { return m_backend_path; }
  DomId backend_id() const { return m_backend_id; }
  // "<device path>/<name>" and "<backend path>/<name>".
  std::string key(std::string_view name) const { return m_path + "/" + std::string(name); }
  std::string backend_key(std::string_view name) const { return m_backend_path + "/" + std::string(name); }

  XenbusState state() const { return m_frontend.state(); }
  std::optional<XenbusState> backend_state() const { return m_frontend.backend_state(); }
  bool connected() const { return m_frontend.io_running(); }
  std::optional<Errno> error() const { return m_frontend.error(); }

 private:
  enum class Input { kStart, kBackendChanged, kClose, kReopen };

  XenbusDevice(Client& client, std::string path, std::string backend_path, DomId backend_id,
               XenbusDriver& driver, Handshake handshake);
  void submit(Input input);
  void apply(Input input);
  std::optional<XenbusState> read_backend_state();

  Result<void> publish_state(XenbusState state) override;
  Result<void> backend_ready() override { return m_driver.on_backend_ready(*this); }
  Result<void> connect() override { return m_driver.on_connected(*this); }
  void disconnect() override { m_driver.on_closing(*this); }
  void release() override { m_driver.on_closed(*this); }

  Client& m_client;
  std::string m_path;
  std::string m_backend_path;
  DomId m_backend_id;
  XenbusDriver& m_driver;
  XenbusFrontend m_frontend;
  // Steps can block on xenstore, and another thread's input may arrive then:
  // inputs queue up and whoever is running the state machine applies them.
  std::deque<Input> m_inputs;
  bool m_busy = false;
  Watch m_watch;
};

// Parses a xenbus state node's value ("4"); nullopt for anything else.
std::optional<XenbusState> parse_xenbus_state(std::string_view value);

}  // namespace atl::xs
