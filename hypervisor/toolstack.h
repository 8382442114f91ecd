// The toolstack's one call: build a domain and its backends from a DomainPlan
// (run_spec.h) and hand back one object that owns them all. Whoever holds a
// DomainInstance decides what happens when the domain ends (the supervisor of
// `atoll run`, or the daemon for a fleet); dropping it tears the domain down,
// backends first.
#pragma once

#include <memory>
#include <vector>

#include "blkback.h"
#include "console_backend.h"
#include "domain.h"
#include "frame_port.h"
#include "netback.h"
#include "run_spec.h"
#include "xenstore_link.h"
#include "xenstored.h"

namespace atl::hv {

class DomainInstance {
 public:
  // How the domain meets the world: its console's sinks, and one uplink per
  // vif in the plan (uplinks outlive restarts, so their owner keeps them).
  struct Wiring {
    ConsoleBackend::Sinks console;
    std::vector<FramePort*> uplinks;
    // Where its process comes from when a pre-started one is ready (the
    // daemon's); null spawns one.
    SandboxPool* sandboxes = nullptr;
  };

  // Builds the domain `domid` and its backends, then starts its process
  // (Domain::start: nothing waits for the guest to seal).
  static RunChecked<std::unique_ptr<DomainInstance>> try_create(EventLoop& loop, xs::Xenstored& store,
                                                               const DomainPlan& plan, uint16_t domid, Wiring wiring);
  ~DomainInstance() = default;

  Domain& domain() { return *m_domain; }
  const Domain& domain() const { return *m_domain; }
  ConsoleBackend& console() { return *m_console; }
  // In the plan's order: vif N is devid N, disk N is xvd('a' + N).
  const std::vector<std::unique_ptr<NetBack>>& netbacks() const { return m_netbacks; }
  const std::vector<std::unique_ptr<BlkBack>>& blkbacks() const { return m_blkbacks; }

 private:
  DomainInstance() = default;

  // The plan's image: the domain borrows its bytes.
  std::shared_ptr<const LoadedImage> m_image;
  // Declared before the backends, so it is destroyed after them.
  std::unique_ptr<Domain> m_domain;
  std::unique_ptr<ConsoleBackend> m_console;
  std::unique_ptr<XenstoreLink> m_store_link;
  std::vector<std::unique_ptr<BlkBack>> m_blkbacks;
  std::vector<std::unique_ptr<NetBack>> m_netbacks;
};

}  // namespace atl::hv
