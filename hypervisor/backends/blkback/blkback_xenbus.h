// blkback's xenstore vocabulary (xen/io/blkif.h, "Backend XenBus Nodes" and
// "Frontend XenBus Nodes"): the keys the backend publishes and the parsing of
// what the frontend wrote. Pure functions, unit-tested; BlkBack's state
// changes live in blkback_xenbus.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "atoll/result.h"
#include "atoll/types.h"
#include "blkback_request.h"
#include "xenbus_backend.h"

namespace atl::hv {

// Multi-page rings (xen/io/blkif.h, max-ring-page-order): up to 2^4 = 16
// pages, 512 slots of blkif requests.
constexpr unsigned kMaxRingPageOrder = 4;
// multi-queue-max-queues: at most this many rings (and event channels) per disk.
constexpr unsigned kMaxQueuesLimit = 16;

// sectors, sector-size 512, physical-sector-size 4096, info (VDISK_READONLY),
// feature-flush-cache 1, feature-persistent 1, feature-max-indirect-segments
// 256, feature-barrier 1, max-ring-page-order `max_ring_page_order`,
// multi-queue-max-queues `max_queues`, mode r/w, and on a writable disk
// feature-discard 1 with discard-granularity 4096, discard-alignment 0,
// discard-secure 0.
std::map<std::string, std::string> blkback_keys(const DiskGeometry& disk, unsigned max_queues = 4,
                                                unsigned max_ring_page_order = kMaxRingPageOrder);

struct FrontendQueue {
  std::vector<GrantRef> ring_refs;  // 2^ring-page-order of them, in ring order
  EvtchnPort port{0};
};
struct FrontendRings {
  unsigned ring_page_order = 0;
  std::vector<FrontendQueue> queues;  // multi-queue-num-queues of them
};

// Reads a key of the frontend's directory ("ring-ref", "queue-1/event-channel");
// nullopt when it is missing.
using FrontendKeys = std::function<std::optional<std::string>(const std::string&)>;

// What the frontend wrote (xen/io/blkif.h, "Frontend XenBus Nodes"):
// ring-page-order (absent: one page and the key `ring-ref`; present: 0..max
// and the keys ring-ref0..ring-ref<2^order - 1>), multi-queue-num-queues
// (absent: one queue, keys at the top; else 1..max_queues, each queue's keys
// under queue-<n>/ when there is more than one), event-channel per queue,
// protocol. Errors: kOpNotSupp (a protocol but the native x86_64 one), kInval
// (an order or queue count out of range, a malformed number), kNoEnt (a
// missing ring-ref or event-channel).
Result<FrontendRings> parse_frontend_rings(const FrontendKeys& key, unsigned max_queues,
                                           unsigned max_ring_page_order = kMaxRingPageOrder);

}  // namespace atl::hv
