// `atoll daemon`: the resident hypervisor of a fleet (docs/fleet.md).
#pragma once

#include <string>

namespace atl::hv::fleet {

// Serves until SIGINT or SIGTERM, then destroys every domain and removes its
// sockets. `named_by_user`: the path came from --socket or ATOLL_SOCKET.
// `trusted_keys` (a directory of *.pub, or empty): only images signed by one
// of them are created.
// `sandbox_pool` guest processes are kept started ahead of creates
// (sandbox.h).
inline constexpr unsigned kDefaultSandboxPool = 8;
int run_daemon(const std::string& socket_path, bool named_by_user, const std::string& trusted_keys,
               unsigned sandbox_pool = kDefaultSandboxPool);

}  // namespace atl::hv::fleet
