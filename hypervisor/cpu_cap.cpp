#include "cpu_cap.h"

#include <algorithm>

#include "clock.h"
#include "process_usage.h"

namespace atl::hv {

CpuCap::CpuCap(EventLoop& loop, pid_t pid, unsigned percent, std::function<void(bool)> hold)
    : m_loop(loop), m_pid(pid), m_percent(percent), m_hold(std::move(hold)) {
  m_last_tick_ns = monotonic_ns();
  m_last_cpu_ns = process_cpu_ns(m_pid).value_or(0);
  m_credit_ns = static_cast<int64_t>(kPeriodNs * m_percent / 100);
  m_timer = m_loop.add_timer(m_last_tick_ns + kPeriodNs, [this] { tick(); });
}

CpuCap::~CpuCap() {
  if (m_timer) m_loop.cancel_timer(*m_timer);
}

void CpuCap::tick() {
  m_timer.reset();
  auto cpu = process_cpu_ns(m_pid);
  if (!cpu) return;  // the process is gone; the domain ends on its own
  uint64_t now = monotonic_ns();
  uint64_t elapsed = now - m_last_tick_ns;
  uint64_t used = *cpu - std::min(*cpu, m_last_cpu_ns);
  if (m_holding) m_throttled_ns += elapsed;
  m_last_tick_ns = now;
  m_last_cpu_ns = *cpu;
  const int64_t per_period = static_cast<int64_t>(kPeriodNs * m_percent / 100);
  m_credit_ns += static_cast<int64_t>(elapsed * m_percent / 100) - static_cast<int64_t>(used);
  m_credit_ns = std::min(m_credit_ns, per_period);
  bool hold = m_credit_ns < 0;
  if (hold) ++m_throttled_periods;
  if (hold != m_holding) {
    m_holding = hold;
    m_hold(hold);
  }
  m_timer = m_loop.add_timer(now + kPeriodNs, [this] { tick(); });
}

}  // namespace atl::hv
