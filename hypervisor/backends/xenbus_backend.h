// The backend half of the xenbus handshake (docs/xenbus.md), shared by every
// backend: what to do when the frontend's state node changes. Pure, so the
// state table is tested once; blkback and netback act on its answer.
//
//   frontend            backend in       reaction
//   (node gone)         any              disconnect, Closed (if not already)
//   Initialising        Closed           InitWait (a reconnect)
//   Initialised/Conn.   InitWait         connect the rings, then Connected
//   Closing             any              disconnect, Closing
//   Closed              any              disconnect, Closed
#pragma once

#include <xen/io/xenbus.h>

#include <cstdint>
#include <optional>
#include <string>

namespace atl::hv {

struct BackendReaction {
  bool disconnect = false;
  bool connect = false;  // on success the backend goes Connected, on failure Closing
  std::optional<XenbusState> state;  // the state to publish (after any disconnect)
};

// `frontend_state` is the node's value, nullopt when the node is gone.
BackendReaction react_to_frontend(const std::optional<std::string>& frontend_state, XenbusState backend);

// A decimal uint32 with nothing around it.
std::optional<uint32_t> parse_u32(const std::string& text);

}  // namespace atl::hv
