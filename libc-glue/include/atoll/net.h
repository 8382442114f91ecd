// Networking bring-up for apps that use sockets. The first socket(),
// getaddrinfo() or gethostbyname() calls ensure_up(), so an ordinary POSIX
// program needs nothing Atoll-specific; an app may call it earlier to time or
// log the bring-up.
#pragma once

#include <stdint.h>

#include "atoll/result.h"

namespace atl::net {

// Starts lwIP's thread and the loopback interface, connects every vif
// (device/vif/*) as an lwIP interface, configures each by DHCP (or with the
// static address the toolstack gave) plus IPv6 link-local and SLAAC, and waits
// up to 10 s for IPv4 addresses. Prints one console line per interface. Runs
// once; later calls return its result. An interface without an address is not
// an error (it may still get one later); kNoDev means lwIP could not start.
Result<void> ensure_up();

struct InterfaceInfo {
  uint8_t mac[6];
  uint32_t address, netmask, gateway;  // IPv4, network byte order; 0 = none yet
  bool dhcp;
};
// The vif interfaces in xenstore order; false past the end.
bool interface_info(unsigned index, InterfaceInfo& out);

}  // namespace atl::net
