// Typed wrappers over the platform's hypercall instruction, one per Xen hypercall
// the kernel uses. Return values are Xen's: >= 0 success, -XEN_E* failure.
#pragma once

#include <stdint.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/xen.h>

#include "atoll/platform.h"

namespace atl::hypercall {

inline uint64_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

inline long sched_op(int cmd, void* arg) {
  return atoll_hypercall(__HYPERVISOR_sched_op, cmd, ptr(arg), 0, 0, 0);
}
inline long event_channel_op(int cmd, void* arg) {
  return atoll_hypercall(__HYPERVISOR_event_channel_op, cmd, ptr(arg), 0, 0, 0);
}
inline long console_write(const char* buf, size_t len) {
  return atoll_hypercall(__HYPERVISOR_console_io, CONSOLEIO_write, len, ptr(buf), 0, 0);
}
inline long set_timer_op(uint64_t deadline_ns) {
  return atoll_hypercall(__HYPERVISOR_set_timer_op, deadline_ns, 0, 0, 0, 0);
}
inline long xen_version(int cmd, void* arg) {
  return atoll_hypercall(__HYPERVISOR_xen_version, cmd, ptr(arg), 0, 0, 0);
}
inline long multicall(multicall_entry* calls, unsigned count) {
  return atoll_hypercall(__HYPERVISOR_multicall, ptr(calls), count, 0, 0, 0);
}
inline long vcpu_op(int cmd, unsigned vcpu, void* arg) {
  return atoll_hypercall(__HYPERVISOR_vcpu_op, cmd, vcpu, ptr(arg), 0, 0);
}

}  // namespace atl::hypercall
