// `atoll run` when a daemon is running (docs/fleet.md): the domain is created
// there with the `run` verb and supervised by the daemon, while this process
// stays in the foreground as it would without one: the guest's output on
// stdout, the terminal's input to the guest, Ctrl-C or SIGTERM destroys it,
// and the exit status is the guest's as `atoll run`'s always is.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "run_spec.h"

namespace atl::hv::fleet {

// nullopt when no daemon listens (the caller runs the domain itself), else
// the exit status. `args` are `atoll run`'s, already read into `options`.
std::optional<int> run_on_daemon(const std::vector<std::string>& args, const RunOptions& options);

}  // namespace atl::hv::fleet
