// One guest domain: its memory, its sandboxed process, its event channels and
// timer, and the loop that answers its hypercalls until it shuts down.
#pragma once

#include <linux/seccomp.h>
#include <xen/grant_table.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "clock.h"
#include "cpu_cap.h"
#include "elf_image.h"
#include "event_loop.h"
#include "evtchn_table.h"
#include "gnttab.h"
#include "guest_memory.h"
#include "sandbox.h"

namespace atl::hv {

enum class Action { kDestroy, kRestart, kPreserve };

struct DomainConfig {
  std::string name;
  uint64_t memory = 16ULL << 20;
  std::string cmdline;
  Action on_poweroff = Action::kDestroy;
  Action on_reboot = Action::kRestart;
  Action on_crash = Action::kDestroy;
  bool verbose = false;
  // xl's cpu_cap: the most of one host CPU the guest may use, in percent; 0 is
  // no cap (cpu_cap.h).
  unsigned cpu_cap = 0;
  // A sealed image's read-only archive (docs/images.md), given to the guest as
  // Xen's boot module: placed after the image, read-only, named by start_info's
  // mod_start/mod_len. Borrowed: the mapped image outlives the domain.
  std::span<const uint8_t> archive;
};

// How a domain ended.
enum class EndReason { kPoweroff, kReboot, kCrash, kSuspend, kWatchdog, kForbiddenSyscall, kKilled, kInterrupted, kStartFailed };

// What a domain has cost and done so far, for `atoll top`.
struct DomainUsage {
  uint64_t cpu_ns = 0;          // the guest process's time on a CPU
  uint64_t rss_bytes = 0;       // its resident memory (guest RAM it touched, loader)
  uint64_t hypercalls = 0;
  uint64_t events_sent = 0;     // EVTCHNOP_send from the guest
  uint64_t events_raised = 0;   // events made pending for the guest
  uint64_t throttled_ns = 0;    // held by its cpu_cap
  bool throttled = false;       // held right now
};

struct DomainEnd {
  EndReason reason;
  int exit_status = 0;  // kPoweroff: the guest's exit status
  std::string detail;   // one line for the user
};

const char* to_string(EndReason reason);

class Domain {
 public:
  static std::unique_ptr<Domain> try_create(EventLoop& loop, const DomainConfig& config, const ElfImage& image,
                                            uint16_t domid, std::string& error);
  ~Domain();

  // Spawns the guest process and registers it with the event loop; returns at
  // once. The loader seals the guest while the loop runs: running() turns true
  // when its hypercalls are served, or the domain ends with kStartFailed.
  // Nothing here waits, so one loop can start many domains at once. With a
  // pool, a loader started ahead of time is used when one is ready.
  bool start(std::string& error, SandboxPool* pool = nullptr);
  bool running() const { return m_listener >= 0 && !m_end; }
  bool ended() const { return m_end.has_value(); }
  // Xen's pause: the vCPU stops being scheduled (its process is stopped);
  // events and timers still become pending and are seen on unpause.
  bool pause();
  bool unpause();
  bool paused() const { return m_paused; }
  // Blocked in SCHEDOP_block or _poll, waiting for an event.
  bool blocked() const { return m_blocked.has_value(); }
  uint64_t hypercalls() const { return m_hypercalls; }
  // The guest process (its loader, then the guest), or -1 once it is reaped.
  int pid() const { return m_pid; }
  // When the guest reached main(), on the host's CLOCK_MONOTONIC (the guest's
  // clock is the same, through pvclock), as its kernel stamped the boot record;
  // nullopt until then. Guest-written: a report, never trusted for anything.
  std::optional<uint64_t> main_ns() const;
  DomainUsage usage() const;
  // Where HYPERVISOR_console_io's output goes; stdout unless set.
  void set_console_output(std::function<void(const char* data, size_t length)> out) { m_console_out = std::move(out); }
  // Ends the domain from outside (Ctrl-C, toolstack).
  void destroy(EndReason reason, std::string detail);
  // Once ended(): unregisters from the loop, runs end hooks, returns how it ended.
  DomainEnd finish();

  uint16_t domid() const { return m_domid; }
  const DomainConfig& config() const { return m_config; }
  GuestMemory& memory() { return m_memory; }
  GrantTable& gnttab() { return m_gnttab; }
  const EvtchnTable& evtchn() const { return m_evtchn; }
  void log(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));

  // Backend side of event channels. The hypervisor acts as domain 0: a backend
  // gets a guest port connected to it and a callback for the guest's notifications.
  Result<EvtchnPort> connect_backend_port(std::function<void()> on_notify);
  // Binds a backend to a port the guest allocated unbound for domain 0; the
  // backend's end (a domain-0 port number) is for release_backend_port().
  Result<uint32_t> bind_backend_port(EvtchnPort guest_port, std::function<void()> on_notify);
  // A backend that disconnects gives its end back: the callback is dropped,
  // the guest's end, if still bound to it, falls back to unbound (as on Xen
  // when the other end closes), and the number goes to the next bind. Without
  // it a guest that reconnects in a loop would grow the hypervisor without end.
  void release_backend_port(uint32_t backend_port);
  // Backend ports ever numbered (bound or free for reuse): flat however
  // often the guest reconnects.
  size_t backend_port_numbers() const { return m_backend_handlers.size(); }
  void notify_guest(EvtchnPort guest_port) { raise(guest_port); }
  // Serves one hypercall (Xen's number `op`, its five argument registers) that
  // code in this process makes on the guest's behalf instead of the guest
  // process: the in-process data path tests (tests/unit/dataplane) and the
  // fuzz targets of hypercall arguments. The same dispatch and the same
  // checked accessor serve it; pointer arguments are guest addresses.
  // nullopt when the hypercall would block the vCPU or ended the domain.
  std::optional<long> hypercall_in_process(unsigned op, const std::array<uint64_t, 5>& args);
  // The toolstack publishes the PV console and xenstore rings in start_info.
  void set_console(uint64_t gfn, EvtchnPort port);
  void set_store(uint64_t gfn, EvtchnPort port);
  // The other domains of this hypervisor (the daemon's), by id, for event
  // channels between domains (Xen's EVTCHNOP_bind_interdomain); without it, or
  // for an id it does not know, only loopback channels and backends exist.
  using PeerLookup = std::function<Domain*(uint16_t domid)>;
  void set_peer_lookup(PeerLookup lookup) { m_peer_lookup = std::move(lookup); }
  // Called (from inside the loop's handlers) the moment the domain ends; a
  // supervisor of many domains queues it and calls finish() afterwards.
  void set_on_ended(std::function<void()> cb) { m_on_ended = std::move(cb); }
  uint64_t started_ns() const { return m_t_create; }
  // Called when the domain ends, before finish() returns (backends flush here).
  void on_end(std::function<void()> hook) { m_end_hooks.push_back(std::move(hook)); }

 private:
  Domain(EventLoop& loop, const DomainConfig& config, const ElfImage& image, GuestMemory memory, uint16_t domid);

  struct Blocked {
    uint64_t notif_id;
    bool is_poll = false;
    std::vector<uint32_t> poll_ports;
    uint64_t poll_deadline = 0;  // system time, 0 = none
  };
  // What a hypercall handler wants done with the guest's request.
  struct Reply {
    enum Kind { kValue, kDefer, kEnd } kind = kValue;
    long value = 0;
  };

  bool build(std::string& error);
  bool spawn(SandboxPool* pool, std::string& error);
  void sealing(const Sandbox& sandbox);
  void arm_start_timer();
  void on_loader_status();
  void take_listener();
  void serve_listener();
  void stop_start_watch();
  void serve_notification();
  Reply dispatch(const seccomp_notif& n);
  Reply sched_op(const seccomp_notif& n);
  Reply block(uint64_t notification_id);
  Reply multicall(const seccomp_notif& n);
  long console_io(uint64_t cmd, uint64_t count, uint64_t buffer);
  long event_channel_op(uint64_t cmd, uint64_t arg);
  long xen_version(uint64_t cmd, uint64_t arg);
  long vcpu_op(uint64_t cmd, uint64_t vcpu, uint64_t arg);
  long callback_op(uint64_t cmd, uint64_t arg);
  long grant_table_op(uint64_t cmd, uint64_t arg, uint64_t count);
  using gnttab_copy_ptr = decltype(gnttab_copy::source);
  std::optional<std::span<uint8_t>> copy_side(const gnttab_copy_ptr& side, bool is_gref, bool writing, uint16_t len,
                                              int16_t& status, std::optional<GrantRef>& held);
  long set_timer(uint64_t deadline);
  void arm_timer();
  void on_timer();
  void answer(uint64_t id, long value);

  // Events.
  void notify_backend(uint32_t backend_port);  // EVTCHNOP_send to a backend: run it, or coalesce
  void raise(EvtchnPort port);  // set pending and wake/interrupt as Xen would
  void kick_vcpu();
  void fire_timer();
  void wake_blocked_if_ready();
  bool poll_ready(const Blocked& b) const;

  // A running domain `domid` other than this one, or null.
  Domain* peer(uint16_t domid) const;
  // The table at the other end of an interdomain channel (ours for loopback),
  // or null when that end is a backend or a domain that is gone.
  EvtchnTable* peer_table(const Channel& c);
  // Closes every channel to another domain, whose ends fall back to unbound
  // as on Xen when a domain dies (a later domain with this id must not
  // inherit them).
  void close_interdomain();

  // Stops or resumes the guest process as pause and the CPU cap want it.
  bool apply_stop();
  void end(EndReason reason, int status, std::string detail);
  void report_fault(const seccomp_notif& n);
  std::string backtrace(uint64_t rip, uint64_t rbp) const;
  void classify_exit();

  shared_info* shared() const { return reinterpret_cast<shared_info*>(m_memory.frame(hosted::kHvFrameSharedInfo)); }
  vcpu_info* vcpu0() const { return &shared()->vcpu_info[0]; }

  EventLoop& m_loop;
  DomainConfig m_config;
  const ElfImage& m_image;
  GuestMemory m_memory;
  uint16_t m_domid;
  EvtchnTable m_evtchn;
  GrantTable m_gnttab{m_memory, DomId(m_domid)};
  std::vector<uint64_t> m_copy_handles;
  TscClock m_clock;

  int m_pid = -1;
  int m_pidfd = -1;
  int m_listener = -1;
  // The loop timer for the earlier of m_timer_deadline and a SCHEDOP_poll
  // timeout, and when it is due (0 = none).
  std::optional<EventLoop::TimerId> m_timer;
  uint64_t m_timer_at = 0;
  int m_status_fd = -1;  // the loader's status pipe, until it has sealed the guest
  SandboxPool* m_pool = nullptr;
  uint64_t m_claim = 0;  // waiting for the pool's next loader (SandboxPool::claim)
  uint64_t m_start_deadline = 0;
  std::optional<EventLoop::TimerId> m_start_timer;
  std::optional<EventLoop::TimerId> m_listener_retry;
  bool m_paused = false;     // by the toolstack
  bool m_throttled = false;  // by the CPU cap
  bool m_stopped = false;    // SIGSTOP sent and not undone
  std::unique_ptr<CpuCap> m_cpu_cap;
  std::function<void(const char*, size_t)> m_console_out;
  std::function<void()> m_on_ended;
  PeerLookup m_peer_lookup;
  std::vector<std::function<void()>> m_backend_handlers;  // by dom0 port; empty: free
  std::vector<uint64_t> m_backend_notified;  // by dom0 port: the hypercall that last ran it
  std::vector<uint32_t> m_free_backend_ports;  // released, for the next bind
  uint32_t take_backend_port(std::function<void()> on_notify);
  uint64_t m_backend_notifications = 0;
  uint64_t m_coalesced_notifications = 0;
  std::vector<std::function<void()>> m_end_hooks;
  uint64_t m_t_create = 0;
  uint64_t m_timer_deadline = 0;  // 0 = not armed
  bool m_in_hypercall = false;
  std::optional<Blocked> m_blocked;
  std::optional<DomainEnd> m_end;
  uint64_t m_hypercalls = 0;
  uint64_t m_upcall_signals = 0;
  uint64_t m_events_sent = 0;
  uint64_t m_events_raised = 0;
  uint64_t m_t_first_hypercall = 0;
  bool m_console_line_start = true;
};

}  // namespace atl::hv
