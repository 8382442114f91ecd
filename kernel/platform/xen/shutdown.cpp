// SCHEDOP_shutdown on real Xen takes a reason and nothing else, so what the
// hosted hypervisor learns from the extra arguments (exit status, crash reason,
// the frame its backtrace starts from) is printed on the console instead:
// that is where a Xen user looks (xl console, xenconsoled's log).
#include <xen/sched.h>

#include "atoll/platform.h"
#include "pvh.h"

namespace atl::platform {
namespace {

const char* crash_reason_name(kernel::CrashReason reason) {
  switch (reason) {
    case kernel::CrashReason::kUnknown: return "unknown";
    case kernel::CrashReason::kPanic: return "panic";
    case kernel::CrashReason::kAbort: return "abort";
    case kernel::CrashReason::kOutOfMemory: return "out of memory";
  }
  return "unknown";
}

}  // namespace

bool shutdown_carries_exit_status() { return false; }

void shutdown(unsigned reason, const ShutdownDetail& detail) {
  // Printed once, although the caller retries a refused shutdown forever.
  static bool reported = false;
  if (!reported) {
    reported = true;
    if (reason == SHUTDOWN_poweroff) pvh::emergency_print("atoll: exit status %d\n", detail.exit_status);
    if (reason == SHUTDOWN_crash) {
      pvh::emergency_print("atoll: crash: %s\n", crash_reason_name(detail.crash_reason));
      pvh::print_backtrace(0, reinterpret_cast<uintptr_t>(detail.frame));
    }
  }
  sched_shutdown sd{reason};
  atoll_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, reinterpret_cast<uintptr_t>(&sd), 0, 0, 0);
}

}  // namespace atl::platform
