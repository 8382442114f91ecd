// The signals that stop `atoll run`, a run through the daemon, and the daemon
// itself: SIGINT, SIGTERM, SIGHUP. They are blocked and read from a signalfd
// in the process's loop, so one never lands in the middle of a handler.
#pragma once

namespace atl::hv {

// Blocks them; a signalfd (close-on-exec, non-blocking) that reads them.
int take_stop_signals();

}  // namespace atl::hv
