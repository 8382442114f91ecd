// Guest time from the pvclock the hypervisor publishes: system time (ns since the
// host booted; monotonic) and wallclock (ns since the Unix epoch).
#pragma once

#include <stdint.h>

namespace atl::time {

void init();
uint64_t monotonic_ns();
uint64_t wallclock_ns();
// Asks for a VIRQ_TIMER at `deadline_ns` (system time); 0 cancels.
void set_timer(uint64_t deadline_ns);
// Records `deadline_ns` as the timer's; true when it differs from what the
// hypervisor was told, and the caller must program it (set_timer_op).
bool claim_timer(uint64_t deadline_ns);

}  // namespace atl::time
