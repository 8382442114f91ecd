#include <stdarg.h>
#include <stdio.h>
#include <xen/sched.h>

#include "atoll/evtchn.h"
#include "atoll/kernel.h"
#include "atoll/platform.h"

namespace atl::kernel {

void shutdown_crash(CrashReason reason) {
  evtchn::upcalls_disable();
  // This frame is where the hypervisor's backtrace starts.
  for (;;) platform::shutdown(SHUTDOWN_crash, {.crash_reason = reason, .frame = __builtin_frame_address(0)});
}

void shutdown_poweroff(int status) {
  evtchn::upcalls_disable();
  for (;;) platform::shutdown(SHUTDOWN_poweroff, {.exit_status = status});
}

void shutdown_reboot() {
  evtchn::upcalls_disable();
  for (;;) platform::shutdown(SHUTDOWN_reboot, {});
}

void panic(const char* fmt, ...) {
  char buf[512];
  int n = snprintf(buf, sizeof buf, "atoll: panic: ");
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
  va_end(ap);
  if (n > static_cast<int>(sizeof buf) - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  console_write_early(buf, n);
  shutdown_crash(CrashReason::kPanic);
}

}  // namespace atl::kernel
