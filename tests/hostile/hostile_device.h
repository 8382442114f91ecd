// The steps of the xenbus handshake that the hostile guests driving a device
// by hand (HostileVif, HostileFront) share: find their one device, close it
// and open it again.
#pragma once

#include <memory>
#include <string>

#include "atoll/sched.h"
#include "atoll/time.h"
#include "atoll/xenbus_device.h"
#include "atoll/xenstore.h"
#include "check.h"

namespace atl::test {

// A XenbusDevice for `driver` on the one device/`type`/ID there is; nullptr,
// after a failed CHECK that says why, when there is not exactly one or its
// backend keys are unusable. The handshake is not started.
inline std::unique_ptr<xs::XenbusDevice> open_only_device(xs::Client& client, const char* type,
                                                          xs::XenbusDriver& driver, xs::Handshake handshake) {
  std::string dir = std::string("device/") + type;
  auto ids = client.directory(dir);
  CHECK(ids.ok() && ids->size() == 1, "one %s in xenstore", type);
  if (!ids.ok() || ids->size() != 1) return nullptr;
  std::string path = dir + "/" + (*ids)[0];
  auto device = xs::XenbusDevice::try_create(client, path, driver, handshake);
  CHECK(device.ok(), "xenbus device for %s", path.c_str());
  if (!device.ok()) return nullptr;
  return std::move(*device);
}

// A bound against a hang only: a healthy backend follows in milliseconds.
constexpr uint64_t kDeviceStepNs = 60'000'000'000ULL;

// Closes the device and waits until the backend followed it to Closed, when
// the driver's on_closed() dropped its rings (`gone` says so). False when
// that did not come, or the backend still mapped a ring then (released_all).
template <typename Driver, typename Gone>
bool close_until_released(xs::XenbusDevice& device, Driver& driver, Gone gone) {
  device.close();
  return sched::wait_until(driver.waiters, gone, time::monotonic_ns() + kDeviceStepNs) && driver.released_all;
}

// Reopens a closed device and waits until it is connected once more.
template <typename Driver>
bool reopen_until_connected(xs::XenbusDevice& device, Driver& driver) {
  int connects = driver.connects;
  device.reopen();
  return sched::wait_until(
      driver.waiters, [&] { return driver.connected && driver.connects == connects + 1; },
      time::monotonic_ns() + kDeviceStepNs);
}

}  // namespace atl::test
