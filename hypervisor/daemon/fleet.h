// The daemon's domains: one event loop, one xenstore shared by all of them
// (/local/domain/N each), their switches (SwitchHub) and each one's uplinks,
// domain ids from a DomidRegistry, and a supervisor per domain that applies
// its on_poweroff/on_reboot/on_crash when it ends.
// Knows nothing of sockets or JSON (daemon_server.h speaks for it).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "domid_registry.h"
#include "sandbox.h"
#include "event_loop.h"
#include "frame_port.h"
#include "run_spec.h"
#include "switch_hub.h"
#include "toolstack.h"
#include "xenstored.h"

namespace atl::hv::fleet {

// One domain the daemon manages, across its restarts.
struct ManagedDomain {
  enum class State { kRunning, kRestarting, kPreserved };

  uint16_t domid = 0;
  DomainPlan plan;
  // One per vif, for the domain's whole life (restarts keep them, as under
  // `atoll run`); declared first, so the instance using them goes before.
  std::vector<std::unique_ptr<FramePort>> uplinks;
  std::unique_ptr<DomainInstance> instance;  // none while a restart waits
  State state = State::kRunning;
  uint64_t created_ns = 0;      // first start
  uint64_t incarnation_ns = 0;  // this start
  unsigned restarts_in_a_row = 0;
  unsigned restarts_total = 0;
  std::string last_end;  // "poweroff (status 0)", "crash: ..."
  std::optional<DomainEnd> end;  // the same, as it was
  std::optional<EventLoop::TimerId> restart_timer;
  int console_log_fd = -1;

  const std::string& name() const { return plan.config.name; }
  // xl list's state: running, blocked, paused, preserved, restarting.
  std::string state_text() const;
};

// What is left of a domain once it is gone: `atoll log` still shows it.
struct DomainRecord {
  std::string log;      // the daemon's lines about it
  std::string console;  // its console history
};

class Fleet {
 public:
  // Console bytes of domain `domid`, to whoever is attached.
  using ConsoleListener = std::function<void(uint16_t domid, const char* data, size_t length)>;
  // Domain `domid` is gone for good (its consoles should close); how its
  // last incarnation ended, when it ran.
  using GoneListener = std::function<void(uint16_t domid, const std::optional<DomainEnd>& end)>;
  // Domain `domid` ended and is kept (on_*=preserve) until destroyed.
  using PreservedListener = std::function<void(uint16_t domid, const DomainEnd& end)>;

  // `sandbox_pool`: guest processes kept started ahead of creates (sandbox.h).
  Fleet(EventLoop& loop, size_t sandbox_pool);
  ~Fleet();

  xs::Xenstored& store() { return m_store; }
  void on_console(ConsoleListener l) { m_console_listener = std::move(l); }
  void on_gone(GoneListener l) { m_gone_listener = std::move(l); }
  void on_preserved(PreservedListener l) { m_preserved_listener = std::move(l); }

  // Builds and starts a domain with its vifs' uplinks; its id, or why not
  // (then nothing of it is left running).
  RunChecked<uint16_t> create(DomainPlan plan);
  // `base`, or base-2, base-3, ... whichever no domain has.
  std::string unique_name(const std::string& base) const;
  // By id (digits) or name.
  ManagedDomain* find(const std::string& name_or_id);
  const std::map<uint16_t, std::unique_ptr<ManagedDomain>>& domains() const { return m_domains; }

  // Asks the guest through control/shutdown, as xl does ("poweroff" or "reboot").
  std::string request_shutdown(ManagedDomain& d, const std::string& request);
  // Ends the domain now, whatever its policy; it is removed.
  void destroy(ManagedDomain& d, const std::string& why);
  // The same at the next reap(), for callers that may be inside one of the
  // domain's own handlers (its console output).
  void destroy_later(uint16_t domid, const std::string& why) { m_to_destroy.emplace_back(domid, why); }
  std::string pause(ManagedDomain& d);
  std::string unpause(ManagedDomain& d);
  // The console's history (the last kHistoryBytes the guest printed).
  const std::string& history(uint16_t domid) const;
  void console_input(ManagedDomain& d, const char* data, size_t length);
  // The daemon's log and console history of a domain, running or gone.
  std::optional<DomainRecord> record(const std::string& name_or_id) const;

  // Handles the domains that ended since the last call (the daemon's loop
  // calls it after every turn: a Domain is never torn down from inside its
  // own handlers).
  void reap();
  // Destroys every domain (the daemon is stopping).
  void destroy_all(const std::string& why);

  static constexpr size_t kHistoryBytes = 256 * 1024;
  static constexpr size_t kRecordsKept = 256;

 private:
  bool start_incarnation(ManagedDomain& d, std::string& error);
  // The vifs' ways out: user networking and TAPs as under `atoll run`, a
  // switch on the daemon's own (SwitchHub).
  std::optional<RunError> open_uplinks(ManagedDomain& d);
  // A host port the plan forwards that a running domain forwards already.
  std::optional<RunError> forward_taken(const DomainPlan& plan) const;
  void handle_end(ManagedDomain& d);
  void schedule_restart(ManagedDomain& d);
  void remove(ManagedDomain& d);
  void note(ManagedDomain& d, const std::string& line);
  void console_output(uint16_t domid, const char* data, size_t length);

  EventLoop& m_loop;
  xs::Xenstored m_store;
  SwitchHub m_switches;
  SandboxPool m_sandboxes;
  DomidRegistry m_ids;
  std::map<uint16_t, std::unique_ptr<ManagedDomain>> m_domains;
  // Names are unique: create's check and find() by name, without a walk over
  // every domain (a tenth of the daemon's time per create at 1,000 domains).
  std::unordered_map<std::string, uint16_t> m_by_name;
  std::map<uint16_t, DomainRecord> m_live_records;  // by domid
  std::deque<std::pair<std::string, DomainRecord>> m_gone;  // by name, oldest first
  std::vector<uint16_t> m_ended;  // queued by Domain::set_on_ended
  std::vector<std::pair<uint16_t, std::string>> m_to_destroy;  // destroy_later
  ConsoleListener m_console_listener;
  GoneListener m_gone_listener;
  PreservedListener m_preserved_listener;
};

}  // namespace atl::hv::fleet
