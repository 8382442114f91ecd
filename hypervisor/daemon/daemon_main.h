// `atoll daemon`: the resident hypervisor of a fleet (docs/fleet.md).
#pragma once

#include <string>

namespace atl::hv::fleet {

// Serves until SIGINT or SIGTERM, then destroys every domain and removes its
// sockets. `named_by_user`: the path came from --socket or ATOLL_SOCKET.
int run_daemon(const std::string& socket_path, bool named_by_user);

}  // namespace atl::hv::fleet
