// What every backend device (blkback's vbd, netback's vif) does on the
// xenstore side: its frontend and backend directories, the state it
// publishes, and the watch on the frontend's state node that runs the
// handshake (react_to_frontend, xenbus_backend.h). A backend supplies how to
// connect from the frontend's keys, what to do once connected, and how to
// let go of the rings.
#pragma once

#include <xen/io/xenbus.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "atoll/result.h"
#include "domain.h"
#include "xenstored.h"

namespace atl::hv {

class BackendDevice {
 public:
  BackendDevice(const BackendDevice&) = delete;
  BackendDevice& operator=(const BackendDevice&) = delete;

 protected:
  // `type` is the device directory's name: "vbd", "vif".
  BackendDevice(Domain& domain, xs::Xenstored& store, const char* type, uint32_t devid);
  // Stops watching; the backend has disconnected by then.
  virtual ~BackendDevice();

  // Creates the device directories with these keys, goes InitWait, watches
  // the frontend's state, and disconnects when the domain ends.
  void publish(const std::map<std::string, std::string>& backend_keys,
               const std::map<std::string, std::string>& frontend_keys);
  void set_state(XenbusState state);
  // Disconnects and goes Closing, after a protocol violation.
  void fail(const char* why);

  // Maps the rings the frontend's keys name; all or nothing.
  virtual Result<void> connect_from_keys() = 0;
  // Connected: takes what the frontend queued before that.
  virtual void on_connected() = 0;
  // Lets go of the rings (idempotent).
  virtual void disconnect() = 0;

  Domain& m_domain;
  xs::Xenstored& m_store;
  const char* m_type;
  uint32_t m_devid;
  std::string m_fe_path;
  std::string m_be_path;
  XenbusState m_state = XenbusStateInitialising;
  // Captured by callbacks that can outlive the device (the domain's end hook,
  // event channel handlers).
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);

 private:
  void on_frontend_state();

  uint64_t m_watch = 0;
};

}  // namespace atl::hv
