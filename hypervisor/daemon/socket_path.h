// Where the fleet daemon listens, for the daemon and every client alike:
// $ATOLL_SOCKET if set, else atoll/atoll.sock in the user's runtime directory
// ($XDG_RUNTIME_DIR, else /run/user/UID when it exists), else
// /tmp/atoll-UID/atoll.sock. The directory is the user's own, mode 0700.
#pragma once

#include <string>

namespace atl::hv::fleet {

std::string default_socket_path();

// Makes the socket's directory (mode 0700) when it is missing. A directory
// that exists is used as it is when the caller named the socket; the default
// one must be ours and closed to others, or it is refused.
bool prepare_socket_dir(const std::string& socket_path, bool named_by_user, std::string& error);

}  // namespace atl::hv::fleet
