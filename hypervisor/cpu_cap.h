// xl's cpu_cap without cgroups: holds a guest process to PERCENT of one CPU by
// stopping it (SIGSTOP) while it is over budget, as the credit scheduler's cap
// does on Xen. Every kPeriodNs the process earns PERCENT of the period in
// credit and pays for the CPU time it used (/proc/PID/schedstat); below zero it
// is stopped until the credit it earns while stopped pays the debt. At most one
// period's credit is saved up, so a domain that idled may burst for one period
// and no longer.
//
// The cost is one timer per capped domain per period, and the cap is exact
// only over many periods: a guest may run one period over before it is held.
// Where cgroup v2's cpu controller is delegated, cpu.max does the same in the
// kernel (docs/fleet.md, "Resource limits").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "event_loop.h"

namespace atl::hv {

class CpuCap {
 public:
  static constexpr uint64_t kPeriodNs = 100'000'000;

  // `hold(true)` must stop the process and `hold(false)` let it run again
  // (the domain combines this with its own pause).
  CpuCap(EventLoop& loop, pid_t pid, unsigned percent, std::function<void(bool)> hold);
  ~CpuCap();
  CpuCap(const CpuCap&) = delete;
  CpuCap& operator=(const CpuCap&) = delete;

  unsigned percent() const { return m_percent; }
  bool holding() const { return m_holding; }
  // Periods that ended with the process held, and how long it was held.
  uint64_t throttled_periods() const { return m_throttled_periods; }
  uint64_t throttled_ns() const { return m_throttled_ns; }

 private:
  void tick();

  EventLoop& m_loop;
  pid_t m_pid;
  unsigned m_percent;
  std::function<void(bool)> m_hold;
  std::optional<EventLoop::TimerId> m_timer;
  uint64_t m_last_tick_ns = 0;
  uint64_t m_last_cpu_ns = 0;
  int64_t m_credit_ns = 0;
  bool m_holding = false;
  uint64_t m_throttled_periods = 0;
  uint64_t m_throttled_ns = 0;
};

}  // namespace atl::hv
