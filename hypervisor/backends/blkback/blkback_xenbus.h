// blkback's xenstore vocabulary (xen/io/blkif.h, "Backend XenBus Nodes" and
// "Frontend XenBus Nodes"): the keys the backend publishes and the parsing of
// what the frontend wrote. Pure functions, unit-tested; BlkBack's state
// changes live in blkback_xenbus.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "atoll/result.h"
#include "atoll/types.h"
#include "blkback_request.h"
#include "xenbus_backend.h"

namespace atl::hv {

// sectors, sector-size 512, physical-sector-size 4096, info (VDISK_READONLY),
// feature-flush-cache 1, feature-persistent 1, feature-max-indirect-segments
// 256, feature-barrier 1, mode r/w, and on a writable disk feature-discard 1
// with discard-granularity 4096, discard-alignment 0, discard-secure 0. No
// multi-page rings or queues (yet), so none of their keys.
std::map<std::string, std::string> blkback_keys(const DiskGeometry& disk);

struct FrontendRing {
  GrantRef ring_ref;
  EvtchnPort port;
};

// What the frontend wrote, as read from its directory (a missing key is
// nullopt). Refuses multi-page rings and any protocol but the native x86_64 one.
Result<FrontendRing> parse_frontend_ring(const std::optional<std::string>& ring_ref,
                                         const std::optional<std::string>& event_channel,
                                         const std::optional<std::string>& protocol,
                                         const std::optional<std::string>& ring_page_order);


}  // namespace atl::hv
