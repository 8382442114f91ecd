// SCHEDOP_shutdown on the hosted platform, with Atoll's extension: the third
// argument carries the exit status (SHUTDOWN_poweroff) or the frame pointer
// (SHUTDOWN_crash), the fourth the crash reason (atoll/hosted_abi.h).
#include <xen/sched.h>

#include "atoll/hosted_abi.h"
#include "atoll/platform.h"

namespace atl::platform {
namespace {

hosted::CrashReason to_hosted(kernel::CrashReason reason) {
  switch (reason) {
    case kernel::CrashReason::kUnknown: return hosted::CrashReason::kUnknown;
    case kernel::CrashReason::kPanic: return hosted::CrashReason::kPanic;
    case kernel::CrashReason::kAbort: return hosted::CrashReason::kAbort;
    case kernel::CrashReason::kOutOfMemory: return hosted::CrashReason::kOutOfMemory;
  }
  return hosted::CrashReason::kUnknown;
}

}  // namespace

bool shutdown_carries_exit_status() { return true; }

void shutdown(unsigned reason, const ShutdownDetail& detail) {
  sched_shutdown sd{reason};
  uint64_t extra = 0;
  uint64_t crash_reason = 0;
  if (reason == SHUTDOWN_poweroff) extra = static_cast<uint64_t>(detail.exit_status) & 0xff;
  if (reason == SHUTDOWN_crash) {
    extra = reinterpret_cast<uintptr_t>(detail.frame);
    crash_reason = static_cast<uint64_t>(to_hosted(detail.crash_reason));
  }
  atoll_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, reinterpret_cast<uintptr_t>(&sd), extra, crash_reason, 0);
}

}  // namespace atl::platform
