// Limits of the xenstore daemon. The per-domain quotas apply to guests only
// (domain 0 is trusted) and default to C xenstored's values.
#pragma once

#include <cstdint>

namespace atl::hv::xs {

struct XsOptions {
  uint32_t max_nodes_per_domain = 1000;       // nodes a guest may own -> EQUOTA
  uint32_t max_watches_per_domain = 128;      // -> EQUOTA
  uint32_t max_transactions_per_domain = 10;  // open at once -> EQUOTA
  uint32_t max_value_bytes = 2048;            // one node's value -> ENOSPC
  uint32_t max_perms_per_node = 5;            // entries in a guest's SET_PERMS -> EQUOTA
  // Nodes one transaction may look at or change (each costs memory until it
  // ends, even a read of a missing node) -> EQUOTA.
  uint32_t max_transaction_nodes = 1024;
  // Replies and watch events a peer has not taken yet. Past `output_pause_bytes`
  // its requests wait; past `max_output_bytes` (events keep coming while it
  // does not read) the connection is dropped.
  uint32_t output_pause_bytes = 64 * 1024;
  uint32_t max_output_bytes = 1024 * 1024;
  // Requests taken from one ring per event before yielding to other domains.
  uint32_t max_requests_per_event = 64;
};

}  // namespace atl::hv::xs
