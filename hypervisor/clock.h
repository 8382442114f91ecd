// Host time as the guest sees it: system time is the host's CLOCK_MONOTONIC in
// nanoseconds, published as a pvclock (TSC scale + timestamp) in vcpu_time_info,
// and wallclock is CLOCK_REALTIME at system time 0, published in shared_info.
#pragma once

#include <cstdint>
#include <xen/xen.h>

#include "atoll/pvclock.h"

namespace atl::hv {

uint64_t monotonic_ns();
uint64_t read_tsc();

class TscClock {
 public:
  // Starts calibration; the estimate sharpens as the baseline grows.
  TscClock();
  pvclock::Scale scale();
  // Publishes (tsc, system time, scale) under the version seqlock.
  void publish(vcpu_time_info* t);
  static void publish_wallclock(shared_info* s);

 private:
  uint64_t m_tsc0;
  uint64_t m_ns0;
  pvclock::Scale m_scale{};
  uint64_t m_scale_baseline_ns = 0;
};

}  // namespace atl::hv
