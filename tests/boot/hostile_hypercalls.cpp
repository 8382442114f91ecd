// A guest that throws garbage at every hypercall it can make without ending
// itself: unmapped and straddling pointers, huge counts, unknown commands. Each
// must come back with an error (or a harmless success), and the domain and the
// hypervisor must carry on.
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/xen.h>

#include "atoll/hosted_abi.h"
#include "atoll/platform.h"
#include "check.h"

namespace {

uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
uint64_t next_random() {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}

}  // namespace

int main() {
  const uint64_t ram_end = atl::hosted::gpa_to_va(atl::platform::boot_info().memory_size);
  const uint64_t bad_pointers[] = {
      0, 1, 4095, 0xffffffffffffffffULL, 0xffff800000000000ULL, atl::hosted::kGuestBase - 1,
      ram_end - 4,  // straddles the end of guest RAM
      ram_end, atl::hosted::gpa_to_va(atl::hosted::kHvFramesGpa + atl::hosted::kHvFramesCount * 4096 - 2),
  };
  const uint64_t odd_values[] = {0, 1, 2, 3, 7, 0x7fffffff, 0xffffffff, 0x100000000ULL, ~0ULL, 1ULL << 63};

  unsigned calls = 0, errors = 0;
  for (int round = 0; round < 4000; ++round) {
    unsigned op = next_random() % atl::hosted::kHypercallCount;
    uint64_t args[5];
    for (auto& a : args) {
      uint64_t r = next_random();
      a = (r & 1) ? bad_pointers[(r >> 1) % (sizeof bad_pointers / sizeof bad_pointers[0])]
                  : odd_values[(r >> 1) % (sizeof odd_values / sizeof odd_values[0])];
    }
    // Stay alive: no well-formed shutdown/block/poll, no event callback pointing at garbage.
    if (op == __HYPERVISOR_sched_op) {
      if (args[0] == SCHEDOP_block) args[0] = SCHEDOP_yield;  // would sleep forever: no timer is set
      args[1] = bad_pointers[0];
    }
    if (op == __HYPERVISOR_callback_op) args[1] = bad_pointers[0];
    if (op == __HYPERVISOR_set_timer_op) args[0] = 0;
    long rc = atoll_hypercall(op, args[0], args[1], args[2], args[3], args[4]);
    ++calls;
    if (rc < 0) ++errors;
  }
  CHECK(errors > calls / 2, "%u of %u garbage hypercalls were refused with an error", errors, calls);

  long version = atoll_hypercall(__HYPERVISOR_xen_version, 0, 0, 0, 0, 0);
  CHECK(version == ((4 << 16) | 17), "the hypervisor still answers properly (Xen %ld.%ld)", version >> 16, version & 0xffff);
  char extra[16] = {};
  CHECK(atoll_hypercall(__HYPERVISOR_xen_version, 1, reinterpret_cast<uint64_t>(extra), 0, 0, 0) == 0 && extra[0] == '.',
        "and copies out to good buffers (%s)", extra);
  CHECK(atoll_hypercall(__HYPERVISOR_console_io, 0 /*write*/, 1ULL << 40, reinterpret_cast<uint64_t>(extra), 0, 0) < 0,
        "a console write of 1 TiB is refused");

  // Multicalls: too many entries, a block that is not last, an op a multicall
  // may not hold, a list past the end of RAM. Each entry gets its own result.
  multicall_entry mc[33] = {};
  CHECK(atoll_hypercall(__HYPERVISOR_multicall, reinterpret_cast<uint64_t>(mc), 33, 0, 0, 0) < 0,
        "a multicall of 33 entries is refused");
  evtchn_send unbound{4000};
  mc[0].op = __HYPERVISOR_sched_op;
  mc[0].args[0] = SCHEDOP_block;
  mc[1].op = __HYPERVISOR_xen_version;
  mc[2].op = __HYPERVISOR_event_channel_op;
  mc[2].args[0] = EVTCHNOP_send;
  mc[2].args[1] = reinterpret_cast<uint64_t>(&unbound);
  mc[3].op = __HYPERVISOR_set_timer_op;
  mc[3].args[0] = 0;
  long rc = atoll_hypercall(__HYPERVISOR_multicall, reinterpret_cast<uint64_t>(mc), 4, 0, 0, 0);
  CHECK(rc == 0 && static_cast<long>(mc[0].result) < 0 && static_cast<long>(mc[1].result) < 0 &&
            static_cast<long>(mc[2].result) < 0 && mc[3].result == 0,
        "a multicall answers each entry: block not last %ld, xen_version %ld, send to an unbound port %ld, "
        "timer %ld",
        static_cast<long>(mc[0].result), static_cast<long>(mc[1].result), static_cast<long>(mc[2].result),
        static_cast<long>(mc[3].result));
  CHECK(atoll_hypercall(__HYPERVISOR_multicall, ram_end - 64, 2, 0, 0, 0) < 0,
        "a multicall list running past the end of RAM is refused");
  return check_result("hostile_hypercalls");
}
