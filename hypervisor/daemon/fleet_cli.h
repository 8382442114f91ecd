// The fleet verbs of `atoll` (list, shutdown, console, ...), each a request to
// the daemon (daemon_client.h); parsed with CLI11, which writes their --help.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace atl::hv::fleet {

// Whether `verb` is one of them.
bool is_fleet_verb(const std::string& verb);
// One line per verb for `atoll --help`.
extern const char* const kFleetVerbsHelp;
// argv[0] is the verb. Returns the exit status.
int cmd_fleet(int argc, char** argv);

// `atoll create` when a daemon is running: the domain `run_args` describes is
// created there (and its console attached with `console`). nullopt when no
// daemon listens, so the caller runs the domain in the foreground.
std::optional<int> create_on_daemon(const std::vector<std::string>& run_args, bool console);

}  // namespace atl::hv::fleet
