// Opens the way out a vif's --net option asks for, as a FramePort:
//   user    starts atoll-slirp (beside the atoll binary) on a socket pair
//   tap     attaches to the TAP device NAME (needs CAP_NET_ADMIN or a TAP
//           owned by this user)
//   switch  joins the switch NAME (switch.h), starting it if nobody has
//           (the daemon has switches of its own: daemon/switch_hub.h)
// Errors (a port already forwarded, no permission for the TAP) are reported
// here, before the guest starts.
#pragma once

#include <memory>
#include <string>

#include "event_loop.h"
#include "frame_port.h"
#include "vif_config.h"

namespace atl::hv {

std::unique_ptr<FramePort> open_uplink(EventLoop& loop, const VifConfig& vif, std::string& error);

// The directory holding atoll's helper programs (atoll-loader, atoll-slirp).
std::string helper_path(const char* name);

}  // namespace atl::hv
