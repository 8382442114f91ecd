// User-mode networking through passt (Debian's package `passt`): a process
// that maps the guest's TCP, UDP and ICMP flows onto ordinary host sockets
// without a TCP/IP stack of its own, built for VMs and adopted by podman and
// libvirt. It takes Ethernet frames on a stream socket in QEMU's framing
// (FramePort's kLengthPrefixed), serves DHCP, DNS forwarding, NDP and router
// advertisements itself, and forwards host ports to the guest.
//
// The guest sees the same network as through libslirp: 10.0.2.15/24, the
// gateway 10.0.2.2 standing for the host's loopback, DNS at 10.0.2.3.
#pragma once

#include <memory>
#include <string>

#include "event_loop.h"
#include "frame_port.h"
#include "vif_config.h"

namespace atl::hv {

// The passt executable on PATH, or "" when it is not installed.
std::string find_passt();

// Starts passt for `vif` and waits until every forwarded port listens; a port
// already in use, or a passt that exits, is an error before the guest starts.
std::unique_ptr<FramePort> open_passt(EventLoop& loop, const VifConfig& vif, const std::string& exe,
                                      std::string& error);

}  // namespace atl::hv
