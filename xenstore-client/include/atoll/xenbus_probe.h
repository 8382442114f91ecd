// The probe every split-driver frontend does once: start a Front for each of
// the domain's devices of one type (device/<type>/*) and wait until they are
// connected, reporting on the console the ones that fail. Front provides
// static try_create(Client&, path), wait_connected(deadline) and path().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "atoll/kernel.h"
#include "atoll/result.h"
#include "atoll/time.h"
#include "atoll/xenstore.h"

namespace atl::xs {

// Fills `devices` (once: a second call returns how many it holds) and returns
// how many connected. A backend that is slow to answer (a host busy creating
// thousands of domains) is waited for, with a line on the console every
// `report_ns`, for up to `give_up_ns` in all (Linux's xenbus waits the same
// way, 300 s); a device whose backend refuses or fails is reported at once.
template <typename Front>
Result<unsigned> probe_devices(std::vector<std::unique_ptr<Front>>& devices, const char* type, const char* driver,
                               uint64_t report_ns, uint64_t give_up_ns) {
  Client* c = client();
  if (!c) return Errno::kNoDev;
  if (!devices.empty()) return static_cast<unsigned>(devices.size());
  std::string dir = std::string("device/") + type;
  auto ids = c->directory(dir);
  if (!ids.ok()) return ids.error() == Errno::kNoEnt ? Result<unsigned>(0u) : Result<unsigned>(ids.error());
  for (const std::string& id : ids.value()) {
    auto front = Front::try_create(*c, dir + "/" + id);
    if (!front.ok()) {
      kernel::console_print("%s: %s/%s: cannot start (error %d)\n", driver, dir.c_str(), id.c_str(),
                            to_int(front.error()));
      continue;
    }
    devices.push_back(std::move(front.value()));
  }
  const uint64_t start = time::monotonic_ns();
  unsigned connected = 0;
  for (auto& d : devices) {
    for (;;) {
      uint64_t now = time::monotonic_ns();
      uint64_t give_up = start + give_up_ns;
      auto r = d->wait_connected(now + report_ns < give_up ? now + report_ns : give_up);
      if (r.ok()) {
        ++connected;
        break;
      }
      now = time::monotonic_ns();
      if (r.error() != Errno::kTimedOut || now >= give_up) {
        kernel::console_print("%s: %s: not connected (error %d)\n", driver, d->path().c_str(), to_int(r.error()));
        break;
      }
      kernel::console_print("%s: %s: still waiting for its backend (%llu s)\n", driver, d->path().c_str(),
                            static_cast<unsigned long long>((now - start) / 1'000'000'000ULL));
    }
  }
  return connected;
}

}  // namespace atl::xs
