// `atoll run IMAGE`: one domain in the foreground, its console on this
// terminal, supervised here (restart, preserve, exit status).
#pragma once

#include <string>
#include <vector>

#include "domain.h"

namespace atl::hv {

extern const char* const kRunHelp;

// Exit statuses of `atoll run` other than the guest's own poweroff status.
constexpr int kExitAtollError = 125;
constexpr int kExitReboot = 128;
constexpr int kExitCrash = 134;
constexpr int kExitForbiddenSyscall = 159;  // 128 + SIGSYS
constexpr int kExitInterrupted = 130;  // also: destroyed from outside (atoll destroy)

// The exit status of `atoll run` for a domain that ended this way (the
// guest's own status for a poweroff).
int exit_status_for(const DomainEnd& end);

// The arguments after `run`.
int cmd_run(const std::vector<std::string>& args);

}  // namespace atl::hv
