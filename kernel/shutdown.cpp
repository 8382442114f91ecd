#include <stdarg.h>
#include <stdio.h>
#include <xen/sched.h>

#include "atoll/evtchn.h"
#include "atoll/hypercall.h"
#include "atoll/kernel.h"
#include "atoll/platform.h"

namespace atl::kernel {

void shutdown_crash(hosted::CrashReason reason) {
  evtchn::upcalls_disable();
  sched_shutdown sd{SHUTDOWN_crash};
  // Atoll extension: the frame pointer lets the hypervisor print a backtrace,
  // and the reason lets it say what kind of crash this was.
  for (;;)
    atoll_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, reinterpret_cast<uintptr_t>(&sd),
                    reinterpret_cast<uintptr_t>(__builtin_frame_address(0)), static_cast<uint64_t>(reason), 0);
}

void shutdown_poweroff(int status) {
  evtchn::upcalls_disable();
  sched_shutdown sd{SHUTDOWN_poweroff};
  // Atoll extension: the exit status travels in the third argument.
  for (;;) hypercall::sched_op(SCHEDOP_shutdown, &sd, static_cast<uint64_t>(status) & 0xff);
}

void shutdown_reboot() {
  evtchn::upcalls_disable();
  sched_shutdown sd{SHUTDOWN_reboot};
  for (;;) hypercall::sched_op(SCHEDOP_shutdown, &sd);
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
  shutdown_crash(hosted::CrashReason::kPanic);
}

}  // namespace atl::kernel
