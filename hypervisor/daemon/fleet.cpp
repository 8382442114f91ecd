#include "fleet.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "clock.h"
#include "decimal.h"
#include "uplink.h"

namespace atl::hv::fleet {

namespace {

// An incarnation that ran this long before it ended was not a crash loop:
// its restart starts the count again.
constexpr uint64_t kSettledNs = 10'000'000'000ULL;
constexpr uint64_t kMaxBackoffMs = 10'000;
// Descriptors a running domain holds in the daemon (its seccomp listener; a
// disk, a console log or a vif adds its own), and what stays free for clients,
// the xenstore socket's connections, the domains' own extras and domains still
// starting (a pidfd and the loader's status pipe each, until sealed).
constexpr size_t kDescriptorsPerDomain = 1;
constexpr size_t kDescriptorReserve = 256;

// Whether another domain fits under RLIMIT_NOFILE, keeping the reserve: past
// it, a create fails with a clear message instead of the daemon running out
// of descriptors halfway through a domain (or for accept()).
bool room_for_another(size_t domains, std::string& why) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return true;
  size_t needed = (domains + 1) * kDescriptorsPerDomain + kDescriptorReserve;
  if (needed <= limit.rlim_cur) return true;
  why = "no room for another domain: " + std::to_string(domains) + " domains hold about " +
        std::to_string(kDescriptorsPerDomain) + " descriptors each, and the daemon's RLIMIT_NOFILE is " +
        std::to_string(limit.rlim_cur) + " (raise the hard limit, e.g. `ulimit -Hn`, before starting the daemon)";
  return false;
}

std::string describe(const DomainEnd& e) {
  std::string text = to_string(e.reason);
  if (e.reason == EndReason::kPoweroff) text += " (status " + std::to_string(e.exit_status) + ")";
  if (!e.detail.empty()) text += ": " + e.detail;
  return text;
}

Action action_for(const DomainConfig& config, EndReason reason) {
  switch (reason) {
    case EndReason::kPoweroff: return config.on_poweroff;
    case EndReason::kReboot: return config.on_reboot;
    case EndReason::kCrash:
    case EndReason::kWatchdog:
    case EndReason::kForbiddenSyscall: return config.on_crash;
    default: return Action::kDestroy;  // destroyed, interrupted, failed to start
  }
}

// Whether two forwards would take the same host port (an address of 0 is
// every address).
bool same_host_port(const HostFwd& a, const HostFwd& b) {
  return a.udp == b.udp && a.host_port == b.host_port && (a.host_addr == b.host_addr || !a.host_addr || !b.host_addr);
}

std::string describe(const HostFwd& f) { return std::string(f.udp ? "udp" : "tcp") + " port " + std::to_string(f.host_port); }

}  // namespace

std::string ManagedDomain::state_text() const {
  if (state == State::kRestarting) return "restarting";
  if (state == State::kPreserved) return "preserved";
  const Domain& domain = instance->domain();
  if (domain.ended()) return "dying";
  if (!domain.running()) return "starting";
  if (domain.paused()) return "paused";
  return domain.blocked() ? "blocked" : "running";
}

Fleet::Fleet(EventLoop& loop, size_t sandbox_pool)
    : m_loop(loop), m_store(loop), m_switches(loop), m_sandboxes(loop, sandbox_pool) {}

Fleet::~Fleet() { destroy_all("the daemon stopped"); }

RunChecked<uint16_t> Fleet::create(DomainPlan plan) {
  const std::string& name = plan.config.name;
  if (auto same = m_by_name.find(name); same != m_by_name.end())
    return RunError{"a domain named " + name + " already exists (id " + std::to_string(same->second) + ")"};
  if (auto taken = forward_taken(plan)) return *taken;
  std::string why;
  if (!room_for_another(m_domains.size(), why)) return RunError{why};
  auto domid = m_ids.allocate();
  if (!domid) return RunError{"no free domain id"};
  auto d = std::make_unique<ManagedDomain>();
  d->domid = *domid;
  d->plan = std::move(plan);
  d->created_ns = monotonic_ns();
  if (!d->plan.console_log.empty()) {
    d->console_log_fd = open(d->plan.console_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (d->console_log_fd < 0) {
      m_ids.release(*domid);
      return RunError{"cannot open console log " + d->plan.console_log + ": " + strerror(errno)};
    }
  }
  m_live_records[*domid] = DomainRecord{};
  std::string error;
  auto uplink_error = open_uplinks(*d);
  if (uplink_error || !start_incarnation(*d, error)) {
    d->instance.reset();
    d->uplinks.clear();  // helpers stopped and reaped, forwards closed
    if (d->console_log_fd >= 0) close(d->console_log_fd);
    m_live_records.erase(*domid);
    m_ids.release(*domid);
    return uplink_error ? *uplink_error : RunError{error};
  }
  ManagedDomain& ref = *d;
  m_domains.emplace(*domid, std::move(d));
  m_by_name.emplace(ref.name(), *domid);
  note(ref, "created (memory " + std::to_string(ref.plan.config.memory >> 20) + " MiB)");
  return *domid;
}

std::string Fleet::unique_name(const std::string& base) const {
  auto taken = [this](const std::string& name) {
    for (const auto& [id, d] : m_domains)
      if (d->name() == name) return true;
    return false;
  };
  std::string name = base;
  for (unsigned n = 2; taken(name); ++n) name = base + "-" + std::to_string(n);
  return name;
}

std::optional<RunError> Fleet::forward_taken(const DomainPlan& plan) const {
  for (const VifConfig& vif : plan.vifs)
    for (const HostFwd& f : vif.hostfwd)
      for (const auto& [id, d] : m_domains)
        for (const VifConfig& theirs : d->plan.vifs)
          for (const HostFwd& g : theirs.hostfwd)
            if (same_host_port(f, g))
              return RunError{"cannot forward host " + describe(f) + ": domain " + d->name() + " (id " + std::to_string(id) +
                              ") forwards it already"};
  return std::nullopt;
}

std::optional<RunError> Fleet::open_uplinks(ManagedDomain& d) {
  for (size_t i = 0; i < d.plan.vifs.size(); ++i) {
    const VifConfig& vif = d.plan.vifs[i];
    std::string error;
    auto port = vif.mode == VifMode::kSwitch ? m_switches.join(vif.name, error) : open_uplink(m_loop, vif, error);
    if (!port) return RunError{"vif " + std::to_string(i) + ": " + error};
    d.uplinks.push_back(std::move(port));
  }
  return std::nullopt;
}

bool Fleet::start_incarnation(ManagedDomain& d, std::string& error) {
  uint16_t domid = d.domid;
  auto out = [this, domid](const char* data, size_t length) { console_output(domid, data, length); };
  std::vector<FramePort*> uplinks;
  for (auto& u : d.uplinks) uplinks.push_back(u.get());
  DomainInstance::Wiring wiring{ConsoleBackend::Sinks{-1, -1, out}, uplinks, &m_sandboxes};
  auto created = DomainInstance::try_create(m_loop, m_store, d.plan, domid, std::move(wiring));
  if (!created.ok()) {
    error = created.error().message;
    return false;
  }
  d.instance = std::move(created.value());
  d.instance->domain().set_console_output(out);
  d.instance->domain().set_on_ended([this, domid] { m_ended.push_back(domid); });
  // Event channels between the daemon's domains (before the loop serves the
  // guest's first hypercall).
  d.instance->domain().set_peer_lookup([this](uint16_t id) -> Domain* {
    auto it = m_domains.find(id);
    return it == m_domains.end() || !it->second->instance ? nullptr : &it->second->instance->domain();
  });
  d.state = ManagedDomain::State::kRunning;
  d.incarnation_ns = monotonic_ns();
  return true;
}

ManagedDomain* Fleet::find(const std::string& name_or_id) {
  if (auto id = parse_decimal(name_or_id, 0, 65535)) {
    auto it = m_domains.find(static_cast<uint16_t>(*id));
    return it == m_domains.end() ? nullptr : it->second.get();
  }
  auto named = m_by_name.find(name_or_id);
  return named == m_by_name.end() ? nullptr : m_domains.at(named->second).get();
}

std::string Fleet::request_shutdown(ManagedDomain& d, const std::string& request) {
  if (d.state != ManagedDomain::State::kRunning || d.instance->domain().ended())
    return "domain " + d.name() + " is not running (" + d.state_text() + ")";
  auto r = m_store.write("/local/domain/" + std::to_string(d.domid) + "/control/shutdown", request);
  if (!r.ok()) return "cannot write control/shutdown";
  note(d, request + " requested");
  return "";
}

void Fleet::destroy(ManagedDomain& d, const std::string& why) {
  note(d, "destroyed: " + why);
  if (d.instance && d.state == ManagedDomain::State::kRunning) {
    Domain& domain = d.instance->domain();
    if (!domain.ended()) domain.destroy(EndReason::kKilled, why);
    d.end = domain.finish();  // the console's last words reach its history
    d.last_end = describe(*d.end);
  }
  remove(d);
}

std::string Fleet::pause(ManagedDomain& d) {
  if (d.state != ManagedDomain::State::kRunning) return "domain " + d.name() + " is " + d.state_text();
  if (d.instance->domain().paused()) return "domain " + d.name() + " is already paused";
  if (!d.instance->domain().pause()) return "domain " + d.name() + " cannot be paused now (" + d.state_text() + ")";
  note(d, "paused");
  return "";
}

std::string Fleet::unpause(ManagedDomain& d) {
  if (d.state != ManagedDomain::State::kRunning || !d.instance->domain().paused())
    return "domain " + d.name() + " is not paused (" + d.state_text() + ")";
  if (!d.instance->domain().unpause()) return "domain " + d.name() + " cannot be unpaused";
  note(d, "unpaused");
  return "";
}

const std::string& Fleet::history(uint16_t domid) const {
  static const std::string kNone;
  auto it = m_live_records.find(domid);
  return it == m_live_records.end() ? kNone : it->second.console;
}

void Fleet::console_input(ManagedDomain& d, const char* data, size_t length) {
  if (d.instance && !d.instance->domain().ended()) d.instance->console().push_input(data, length);
}

std::optional<DomainRecord> Fleet::record(const std::string& name_or_id) const {
  if (auto* d = const_cast<Fleet*>(this)->find(name_or_id)) return m_live_records.at(d->domid);
  for (auto it = m_gone.rbegin(); it != m_gone.rend(); ++it)
    if (it->first == name_or_id) return it->second;
  return std::nullopt;
}

void Fleet::console_output(uint16_t domid, const char* data, size_t length) {
  auto it = m_live_records.find(domid);
  if (it == m_live_records.end()) return;
  std::string& h = it->second.console;
  h.append(data, length);
  if (h.size() > kHistoryBytes) h.erase(0, h.size() - kHistoryBytes);
  auto d = m_domains.find(domid);
  if (d != m_domains.end() && d->second->console_log_fd >= 0) {
    if (write(d->second->console_log_fd, data, length) < 0) { /* the log is best effort; the history has it */ }
  }
  if (m_console_listener) m_console_listener(domid, data, length);
}

void Fleet::note(ManagedDomain& d, const std::string& line) {
  double age = static_cast<double>(monotonic_ns() - d.created_ns) / 1e9;
  char stamp[32];
  snprintf(stamp, sizeof stamp, "[%9.3f s] ", age);
  m_live_records[d.domid].log += stamp + line + "\n";
  fprintf(stderr, "atoll daemon: domain %u (%s): %s\n", d.domid, d.name().c_str(), line.c_str());
}

void Fleet::reap() {
  m_switches.collect();
  std::vector<std::pair<uint16_t, std::string>> doomed;
  doomed.swap(m_to_destroy);
  for (const auto& [domid, why] : doomed) {
    auto it = m_domains.find(domid);
    if (it != m_domains.end()) destroy(*it->second, why);
  }
  while (!m_ended.empty()) {
    std::vector<uint16_t> ended;
    ended.swap(m_ended);
    for (uint16_t domid : ended) {
      auto it = m_domains.find(domid);
      if (it == m_domains.end()) continue;
      ManagedDomain& d = *it->second;
      if (d.state != ManagedDomain::State::kRunning || !d.instance || !d.instance->domain().ended()) continue;
      handle_end(d);
    }
  }
}

void Fleet::handle_end(ManagedDomain& d) {
  DomainEnd e = d.instance->domain().finish();
  d.end = e;
  d.last_end = describe(e);
  note(d, "ended: " + d.last_end);
  switch (action_for(d.plan.config, e.reason)) {
    case Action::kDestroy: remove(d); return;
    case Action::kPreserve:
      d.state = ManagedDomain::State::kPreserved;
      note(d, "preserved: its memory is kept until `atoll destroy " + d.name() + "`");
      if (m_preserved_listener) m_preserved_listener(d.domid, e);
      return;
    case Action::kRestart:
      if (monotonic_ns() - d.incarnation_ns >= kSettledNs) d.restarts_in_a_row = 0;
      if (d.restarts_in_a_row >= d.plan.max_restarts) {
        note(d, "restarted " + std::to_string(d.restarts_in_a_row) + " times in a row; giving up");
        remove(d);
        return;
      }
      d.instance.reset();
      schedule_restart(d);
      return;
  }
}

// The first restart is at once; a domain that keeps failing waits 100 ms,
// 200 ms, ... up to 10 s between tries, until its budget (max_restarts) is spent.
void Fleet::schedule_restart(ManagedDomain& d) {
  unsigned n = d.restarts_in_a_row++;
  ++d.restarts_total;
  uint64_t delay_ms = n == 0 ? 0 : std::min<uint64_t>(100ULL << std::min(n - 1, 10u), kMaxBackoffMs);
  d.state = ManagedDomain::State::kRestarting;
  note(d, "restarting in " + std::to_string(delay_ms) + " ms (restart " + std::to_string(d.restarts_in_a_row) + " of at most " +
              std::to_string(d.plan.max_restarts) + " in a row)");
  uint16_t domid = d.domid;
  d.restart_timer = m_loop.add_timer(monotonic_ns() + delay_ms * 1'000'000, [this, domid] {
    auto it = m_domains.find(domid);
    if (it == m_domains.end()) return;
    ManagedDomain& md = *it->second;
    md.restart_timer.reset();
    std::string error;
    if (!start_incarnation(md, error)) {
      note(md, "restart failed: " + error);
      remove(md);
    }
  });
}

void Fleet::remove(ManagedDomain& d) {
  uint16_t domid = d.domid;
  std::string name = d.name();
  std::optional<DomainEnd> end = d.end;
  if (d.restart_timer) m_loop.cancel_timer(*d.restart_timer);
  d.instance.reset();  // backends first, then the domain: its process, memory and xenstore nodes
  d.uplinks.clear();   // then its helpers (stopped and reaped) and switch ports
  if (d.console_log_fd >= 0) close(d.console_log_fd);
  fprintf(stderr, "atoll daemon: domain %u (%s): removed\n", domid, name.c_str());
  m_gone.emplace_back(name, std::move(m_live_records[domid]));
  if (m_gone.size() > kRecordsKept) m_gone.pop_front();
  m_live_records.erase(domid);
  m_by_name.erase(name);
  m_domains.erase(domid);
  m_ids.release(domid);
  if (m_gone_listener) m_gone_listener(domid, end);
}

void Fleet::destroy_all(const std::string& why) {
  while (!m_domains.empty()) destroy(*m_domains.begin()->second, why);
}

}  // namespace atl::hv::fleet
