// `atoll top`: the daemon's domains, live: samples the daemon's counters
// (the `top` request) every interval and shows the rates between samples.
#pragma once

namespace atl::hv::fleet {

// argv[0] is "top". Returns the exit status.
int cmd_top(int argc, char** argv);

}  // namespace atl::hv::fleet
