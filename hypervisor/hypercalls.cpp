// The hypercall path: one seccomp user notification per guest hypercall, answered
// with Xen's numbering, argument structs and return codes. Every pointer argument
// is a guest address and is copied through GuestMemory, never dereferenced.
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>

#include "atoll/evtchn_bits.h"
#include "domain.h"

namespace atl::hv {

using namespace hosted;

namespace {
constexpr long kEFault = -EFAULT, kEInval = -EINVAL, kENoSys = -ENOSYS;
// How long the loop polls after waking a blocked guest (EventLoop::poll_briefly).
constexpr uint64_t kWakePollNs = 30'000;
long to_xen(Errno e) { return -to_int(e); }

// The crash's reason as the guest gave it (hosted_abi.h); any other value is
// just a crash: the guest may send anything.
std::string crash_report(uint64_t reason) {
  switch (static_cast<CrashReason>(reason)) {
    case CrashReason::kPanic: return "the guest reported a crash: kernel panic";
    case CrashReason::kAbort: return "the guest reported a crash: abort";
    case CrashReason::kOutOfMemory: return "the guest reported a crash: out of memory";
    default: return "the guest reported a crash";
  }
}
}  // namespace

void Domain::serve_notification() {
  seccomp_notif n;
  std::memset(&n, 0, sizeof n);
  if (ioctl(m_listener, SECCOMP_IOCTL_NOTIF_RECV, &n) != 0) {
    if (errno == ENOENT || errno == EINTR) return;  // the guest was interrupted before we looked
    classify_exit();
    return;
  }
  if (m_hypercalls++ == 0) {
    m_t_first_hypercall = monotonic_ns();
    log("first hypercall");
  }
  m_in_hypercall = true;
  Reply r = dispatch(n);
  m_in_hypercall = false;
  if (r.kind == Reply::kValue) answer(n.id, r.value);
}

std::optional<long> Domain::hypercall_in_process(unsigned op, const std::array<uint64_t, 5>& args) {
  seccomp_notif n;
  std::memset(&n, 0, sizeof n);
  n.data.nr = static_cast<int>(kHypercallSyscallBase + op);
  for (size_t i = 0; i < args.size(); ++i) n.data.args[i] = args[i];
  ++m_hypercalls;  // the serial notify_backend() coalesces by
  m_in_hypercall = true;
  Reply r = dispatch(n);
  m_in_hypercall = false;
  if (r.kind == Reply::kValue) return r.value;
  m_blocked.reset();  // nobody waits for an answer to a notification that never was
  return std::nullopt;
}

void Domain::answer(uint64_t id, long value) {
  m_clock.publish(&vcpu0()->time);
  seccomp_notif_resp resp{};
  resp.id = id;
  resp.val = value;
  if (ioctl(m_listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT) classify_exit();
}

Domain::Reply Domain::dispatch(const seccomp_notif& n) {
  const long nr = n.data.nr;
  const auto* a = n.data.args;
  if (nr == kFaultReportSyscall) {
    report_fault(n);
    return {Reply::kEnd};
  }
  switch (nr - kHypercallSyscallBase) {
    case __HYPERVISOR_sched_op: return sched_op(n);
    case __HYPERVISOR_console_io: return {Reply::kValue, console_io(a[0], a[1], a[2])};
    case __HYPERVISOR_event_channel_op: return {Reply::kValue, event_channel_op(a[0], a[1])};
    case __HYPERVISOR_set_timer_op: return {Reply::kValue, set_timer(a[0])};
    case __HYPERVISOR_xen_version: return {Reply::kValue, xen_version(a[0], a[1])};
    case __HYPERVISOR_vcpu_op: return {Reply::kValue, vcpu_op(a[0], a[1], a[2])};
    case __HYPERVISOR_callback_op: return {Reply::kValue, callback_op(a[0], a[1])};
    case __HYPERVISOR_grant_table_op: return {Reply::kValue, grant_table_op(a[0], a[1], a[2])};
    case __HYPERVISOR_multicall: return multicall(n);
    default: return {Reply::kValue, kENoSys};
  }
}

Domain::Reply Domain::block(uint64_t notification_id) {
  // Xen: re-enable event delivery, then sleep unless an event is already due.
  __atomic_store_n(&vcpu0()->evtchn_upcall_mask, uint8_t{0}, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&vcpu0()->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) return {Reply::kValue, 0};
  m_blocked = Blocked{notification_id};
  return {Reply::kDefer};
}

// HYPERVISOR_multicall(list, count): the calls in order, each one's result
// written into its entry. A guest going idle sends its pending notifications,
// programs its timer and blocks in one crossing: event_channel_op,
// set_timer_op, and sched_op(SCHEDOP_block) as the last entry are what a
// multicall may hold here (anything else gets -ENOSYS in its entry).
Domain::Reply Domain::multicall(const seccomp_notif& n) {
  constexpr uint64_t kMaxCalls = 32;
  const uint64_t list = n.data.args[0], count = n.data.args[1];
  if (count > kMaxCalls) return {Reply::kValue, kEInval};
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t at = list + i * sizeof(multicall_entry);
    multicall_entry e;
    if (!m_memory.read(at, e)) return {Reply::kValue, kEFault};
    long result = kENoSys;
    bool last = i + 1 == count;
    switch (e.op) {
      case __HYPERVISOR_event_channel_op: result = event_channel_op(e.args[0], e.args[1]); break;
      case __HYPERVISOR_set_timer_op: result = set_timer(e.args[0]); break;
      case __HYPERVISOR_sched_op:
        if (e.args[0] == SCHEDOP_block && last) {
          e.result = 0;  // what block returns when it wakes
          if (!m_memory.write(at, e)) return {Reply::kValue, kEFault};
          return block(n.id);
        }
        result = kEInval;
        break;
      default: break;
    }
    if (ended()) return {Reply::kEnd};  // a call ended the domain
    e.result = static_cast<xen_ulong_t>(result);
    if (!m_memory.write(at, e)) return {Reply::kValue, kEFault};
  }
  return {Reply::kValue, 0};
}

Domain::Reply Domain::sched_op(const seccomp_notif& n) {
  const auto* a = n.data.args;
  switch (a[0]) {
    case SCHEDOP_yield:
      return {Reply::kValue, 0};
    case SCHEDOP_block:
      return block(n.id);
    case SCHEDOP_poll: {
      sched_poll poll;
      if (!m_memory.read(a[1], poll)) return {Reply::kValue, kEFault};
      if (poll.nr_ports > 128) return {Reply::kValue, kEInval};
      Blocked b{n.id, true, {}, poll.timeout};
      for (unsigned i = 0; i < poll.nr_ports; ++i) {
        evtchn_port_t port;
        if (!m_memory.read(reinterpret_cast<uint64_t>(poll.ports.p) + i * sizeof port, port)) return {Reply::kValue, kEFault};
        if (port >= EvtchnTable::kMaxPorts) return {Reply::kValue, kEInval};
        b.poll_ports.push_back(port);
      }
      if (poll_ready(b)) return {Reply::kValue, 0};
      if (poll.timeout && poll.timeout <= monotonic_ns()) return {Reply::kValue, 0};
      m_blocked = std::move(b);
      if (poll.timeout) arm_timer();
      return {Reply::kDefer};
    }
    case SCHEDOP_shutdown: {
      sched_shutdown sd;
      if (!m_memory.read(a[1], sd)) return {Reply::kValue, kEFault};
      switch (sd.reason) {
        case SHUTDOWN_poweroff:
          end(EndReason::kPoweroff, static_cast<int>(a[2] & 0xff), "");
          break;
        case SHUTDOWN_reboot: end(EndReason::kReboot, 0, "the guest asked to reboot"); break;
        case SHUTDOWN_suspend: end(EndReason::kSuspend, 0, "the guest suspended itself"); break;
        case SHUTDOWN_watchdog: end(EndReason::kWatchdog, 0, "the guest's watchdog fired"); break;
        case SHUTDOWN_crash:
          end(EndReason::kCrash, 0, crash_report(a[3]) + "\n" + backtrace(n.data.instruction_pointer, a[2]));
          break;
        default: return {Reply::kValue, kEInval};
      }
      return {Reply::kEnd};
    }
    default:
      return {Reply::kValue, kENoSys};
  }
}

long Domain::console_io(uint64_t cmd, uint64_t count, uint64_t buffer) {
  if (cmd == CONSOLEIO_read) return 0;  // input arrives over the console ring
  if (cmd != CONSOLEIO_write) return kENoSys;
  if (count > 1 << 20) return kEInval;
  auto bytes = m_memory.span(buffer, count);
  if (!bytes) return kEFault;
  if (!m_t_first_hypercall) m_t_first_hypercall = monotonic_ns();
  if (m_console_out) {
    m_console_out(reinterpret_cast<const char*>(bytes->data()), bytes->size());
    return 0;
  }
  for (size_t done = 0; done < bytes->size();) {
    ssize_t w = write(STDOUT_FILENO, bytes->data() + done, bytes->size() - done);
    if (w <= 0) { if (errno == EINTR) continue; break; }
    done += w;
  }
  return 0;
}

Domain* Domain::peer(uint16_t domid) const {
  if (!m_peer_lookup || domid == m_domid || domid == 0) return nullptr;
  Domain* d = m_peer_lookup(domid);
  return d && !d->ended() ? d : nullptr;
}

EvtchnTable* Domain::peer_table(const Channel& c) {
  if (c.state != ChannelState::kInterdomain) return nullptr;
  if (c.remote_domid == m_domid) return &m_evtchn;
  Domain* other = peer(c.remote_domid);
  return other ? &other->m_evtchn : nullptr;
}

void Domain::close_interdomain() {
  for (uint32_t p = 1; p < EvtchnTable::kMaxPorts; ++p) {
    const Channel* c = m_evtchn.lookup(EvtchnPort(p));
    if (!c || c->state != ChannelState::kInterdomain || c->remote_domid == m_domid || c->remote_domid == 0) continue;
    if (EvtchnTable* other = peer_table(*c)) (void)m_evtchn.close(EvtchnPort(p), other);  // the port is open: it closes
  }
}

long Domain::event_channel_op(uint64_t cmd, uint64_t arg) {
  auto self_or = [&](domid_t d) { return d == DOMID_SELF ? m_domid : d; };
  switch (cmd) {
    case EVTCHNOP_alloc_unbound: {
      evtchn_alloc_unbound op;
      if (!m_memory.read(arg, op)) return kEFault;
      if (self_or(op.dom) != m_domid) return -EPERM;
      auto port = m_evtchn.alloc_unbound(DomId(self_or(op.remote_dom)));
      if (!port.ok()) return to_xen(port.error());
      op.port = port->value();
      return m_memory.write(arg, op) ? 0 : kEFault;
    }
    case EVTCHNOP_bind_interdomain: {
      evtchn_bind_interdomain op;
      if (!m_memory.read(arg, op)) return kEFault;
      // Loopback, or another running domain of this hypervisor. Backends are
      // domain 0 and connect their own ends (connect_backend_port).
      const uint16_t remote = self_or(op.remote_dom);
      Domain* other = remote == m_domid ? this : peer(remote);
      if (!other) return -ESRCH;
      auto port = m_evtchn.bind_interdomain(other->m_evtchn, EvtchnPort(op.remote_port));
      if (!port.ok()) return to_xen(port.error());
      // As Xen does: the new local port starts pending, so that a notification
      // sent on the remote end while it was still unbound is not lost. Guests
      // see one event on every port they bind this way (it is masked until
      // they bind a handler, and then delivered).
      raise(*port);
      op.local_port = port->value();
      return m_memory.write(arg, op) ? 0 : kEFault;
    }
    case EVTCHNOP_bind_virq: {
      evtchn_bind_virq op;
      if (!m_memory.read(arg, op)) return kEFault;
      auto port = m_evtchn.bind_virq(op.virq, op.vcpu);
      if (!port.ok()) return to_xen(port.error());
      op.port = port->value();
      return m_memory.write(arg, op) ? 0 : kEFault;
    }
    case EVTCHNOP_bind_ipi: {
      evtchn_bind_ipi op;
      if (!m_memory.read(arg, op)) return kEFault;
      auto port = m_evtchn.bind_ipi(op.vcpu);
      if (!port.ok()) return to_xen(port.error());
      op.port = port->value();
      return m_memory.write(arg, op) ? 0 : kEFault;
    }
    case EVTCHNOP_close: {
      evtchn_close op;
      if (!m_memory.read(arg, op)) return kEFault;
      const Channel* c = m_evtchn.lookup(EvtchnPort(op.port));
      auto r = m_evtchn.close(EvtchnPort(op.port), c ? peer_table(*c) : nullptr);
      if (!r.ok()) return to_xen(r.error());
      evtchn_bits::clear_pending(shared(), op.port % EvtchnTable::kMaxPorts);
      return 0;
    }
    case EVTCHNOP_send: {
      evtchn_send op;
      if (!m_memory.read(arg, op)) return kEFault;
      ++m_events_sent;
      const Channel* c = m_evtchn.lookup(EvtchnPort(op.port));
      if (!c) return kEInval;
      switch (c->state) {
        case ChannelState::kInterdomain:
          if (c->remote_domid == m_domid) {
            raise(EvtchnPort(c->remote_port));
          } else if (c->remote_domid == 0) {
            notify_backend(c->remote_port);
          } else if (Domain* other = peer(c->remote_domid)) {
            other->raise(EvtchnPort(c->remote_port));  // pending there, its vCPU kicked as Xen would
          }
          break;
        case ChannelState::kIpi: raise(EvtchnPort(op.port)); break;
        case ChannelState::kUnbound: break;  // nobody listens yet: dropped, as on Xen
        default: return kEInval;
      }
      return 0;
    }
    case EVTCHNOP_status: {
      evtchn_status op;
      if (!m_memory.read(arg, op)) return kEFault;
      if (self_or(op.dom) != m_domid) return -EPERM;
      const Channel* c = m_evtchn.lookup(EvtchnPort(op.port));
      std::memset(&op.u, 0, sizeof op.u);
      op.vcpu = 0;
      if (!c) {
        if (op.port >= EvtchnTable::kMaxPorts) return kEInval;
        op.status = EVTCHNSTAT_closed;
      } else {
        switch (c->state) {
          case ChannelState::kUnbound: op.status = EVTCHNSTAT_unbound; op.u.unbound.dom = c->remote_domid; break;
          case ChannelState::kInterdomain:
            op.status = EVTCHNSTAT_interdomain;
            op.u.interdomain.dom = c->remote_domid;
            op.u.interdomain.port = c->remote_port;
            break;
          case ChannelState::kVirq: op.status = EVTCHNSTAT_virq; op.u.virq = c->virq; break;
          case ChannelState::kIpi: op.status = EVTCHNSTAT_ipi; break;
          default: op.status = EVTCHNSTAT_closed; break;
        }
      }
      return m_memory.write(arg, op) ? 0 : kEFault;
    }
    case EVTCHNOP_unmask: {
      evtchn_unmask op;
      if (!m_memory.read(arg, op)) return kEFault;
      if (!m_evtchn.lookup(EvtchnPort(op.port))) return kEInval;
      if (evtchn_bits::unmask(shared(), vcpu0(), op.port) == evtchn_bits::Kick::kVcpu) kick_vcpu();
      return 0;
    }
    case EVTCHNOP_bind_vcpu: {
      evtchn_bind_vcpu op;
      if (!m_memory.read(arg, op)) return kEFault;
      if (!m_evtchn.lookup(EvtchnPort(op.port))) return kEInval;
      return op.vcpu == 0 ? 0 : -ENOENT;
    }
    default:
      return kENoSys;
  }
}

// One side of a guest-initiated grant copy: a grant ref (which must grant the
// page to this domain) or one of the domain's own frames.
std::optional<std::span<uint8_t>> Domain::copy_side(const gnttab_copy_ptr& side, bool is_gref, bool writing,
                                                      uint16_t len, int16_t& status, std::optional<GrantRef>& held) {
  if (side.domid != DOMID_SELF && side.domid != m_domid) { status = GNTST_bad_domain; return std::nullopt; }
  if (side.offset > kPageSize || len > kPageSize - side.offset) { status = GNTST_bad_copy_arg; return std::nullopt; }
  if (is_gref) {
    GrantStatus st;
    auto m = m_gnttab.map(GrantRef(side.u.ref), DomId(m_domid), writing, &st);
    if (!m.ok()) {
      // Xen's codes for a copy: bad_gntref only for a ref past the table; an
      // entry that does not grant this domain the access asked for (not
      // granted, ended, read-only for a write) is general_error.
      const bool xen_general = st == GrantStatus::kPermissionDenied ||
                               (st == GrantStatus::kBadGntref && m_gnttab.in_table(GrantRef(side.u.ref)));
      status = xen_general ? GNTST_general_error : static_cast<int16_t>(st);
      return std::nullopt;
    }
    held = GrantRef(side.u.ref);
    m_copy_handles.push_back(m->handle);
    return m->page.subspan(side.offset, len);
  }
  uint64_t gmfn = side.u.gmfn;
  if (gmfn >= m_config.memory / kPageSize) { status = GNTST_bad_page; return std::nullopt; }
  return m_memory.span(gpa_to_va(gmfn * kPageSize + side.offset), len);
}

long Domain::grant_table_op(uint64_t cmd, uint64_t arg, uint64_t count) {
  if (count > 512) return kEInval;
  switch (cmd) {
    case GNTTABOP_setup_table: {
      gnttab_setup_table op;
      if (!m_memory.read(arg, op)) return kEFault;
      if (op.dom != DOMID_SELF && op.dom != m_domid) op.status = GNTST_bad_domain;
      else if (op.nr_frames > GrantTable::kMaxFrames) op.status = GNTST_general_error;
      else {
        uint64_t gfns[GrantTable::kMaxFrames];
        op.status = static_cast<int16_t>(m_gnttab.setup(op.nr_frames, gfns));
        for (unsigned i = 0; i < op.nr_frames && op.status == GNTST_okay; ++i)
          if (!m_memory.write(reinterpret_cast<uint64_t>(op.frame_list.p) + i * sizeof(xen_pfn_t), xen_pfn_t(gfns[i])))
            return kEFault;
      }
      return m_memory.write(arg, op) ? 0 : kEFault;
    }
    case GNTTABOP_query_size: {
      gnttab_query_size op;
      if (!m_memory.read(arg, op)) return kEFault;
      op.nr_frames = m_gnttab.nr_frames();
      op.max_nr_frames = GrantTable::kMaxFrames;
      op.status = (op.dom == DOMID_SELF || op.dom == m_domid) ? GNTST_okay : GNTST_bad_domain;
      return m_memory.write(arg, op) ? 0 : kEFault;
    }
    case GNTTABOP_set_version: {
      gnttab_set_version op;
      if (!m_memory.read(arg, op)) return kEFault;
      if (op.version != 1) return kEInval;  // v2 is not offered yet
      return 0;
    }
    case GNTTABOP_get_version: {
      gnttab_get_version op;
      if (!m_memory.read(arg, op)) return kEFault;
      op.version = 1;
      return m_memory.write(arg, op) ? 0 : kEFault;
    }
    case GNTTABOP_copy: {
      for (uint64_t i = 0; i < count; ++i) {
        uint64_t at = arg + i * sizeof(gnttab_copy);
        gnttab_copy op;
        if (!m_memory.read(at, op)) return kEFault;
        op.status = GNTST_okay;
        std::optional<GrantRef> src_ref, dst_ref;
        auto src = copy_side(op.source, op.flags & GNTCOPY_source_gref, false, op.len, op.status, src_ref);
        auto dst = src ? copy_side(op.dest, op.flags & GNTCOPY_dest_gref, true, op.len, op.status, dst_ref) : std::nullopt;
        if (src && dst) std::memmove(dst->data(), src->data(), op.len);
        for (uint64_t h : m_copy_handles) m_gnttab.unmap(h);
        m_copy_handles.clear();
        if (!m_memory.write(at, op)) return kEFault;
      }
      return 0;
    }
    default:
      return kENoSys;  // guests cannot map foreign pages on the hosted platform
  }
}

long Domain::xen_version(uint64_t cmd, uint64_t arg) {
  auto put_string = [&](const char* text, size_t size) -> long {
    char buf[1024] = {};
    std::strncpy(buf, text, size - 1);
    auto s = m_memory.span(arg, size);
    if (!s) return kEFault;
    std::memcpy(s->data(), buf, size);
    return 0;
  };
  switch (cmd) {
    case XENVER_version: return (4 << 16) | 17;
    case XENVER_extraversion: return put_string(".0-atoll", sizeof(xen_extraversion_t));
    case XENVER_capabilities: return put_string("xen-3.0-x86_64", sizeof(xen_capabilities_info_t));
    case XENVER_changeset: return put_string("atoll-hosted", sizeof(xen_changeset_info_t));
    case XENVER_guest_handle: return put_string("", sizeof(xen_domain_handle_t));
    case XENVER_pagesize: return kPageSize;
    case XENVER_get_features: {
      xen_feature_info fi;
      if (!m_memory.read(arg, fi)) return kEFault;
      fi.submap = fi.submap_idx == 0 ? (1u << XENFEAT_auto_translated_physmap) : 0;
      return m_memory.write(arg, fi) ? 0 : kEFault;
    }
    case XENVER_platform_parameters: {
      xen_platform_parameters_t pp{};
      pp.virt_start = 0;
      return m_memory.write(arg, pp) ? 0 : kEFault;
    }
    default: return kENoSys;
  }
}

long Domain::vcpu_op(uint64_t cmd, uint64_t vcpu, uint64_t arg) {
  if (vcpu != 0) return -ENOENT;
  switch (cmd) {
    case VCPUOP_is_up: return 1;
    case VCPUOP_set_singleshot_timer: {
      vcpu_set_singleshot_timer t;
      if (!m_memory.read(arg, t)) return kEFault;
      if ((t.flags & VCPU_SSHOTTMR_future) && t.timeout_abs_ns < monotonic_ns()) return -ETIME;
      return set_timer(t.timeout_abs_ns);
    }
    case VCPUOP_stop_singleshot_timer: return set_timer(0);
    case VCPUOP_stop_periodic_timer: return 0;  // there is no periodic timer to stop
    default: return kENoSys;
  }
}

long Domain::callback_op(uint64_t cmd, uint64_t arg) {
  if (cmd != CALLBACKOP_register) return kENoSys;
  callback_register cb;
  if (!m_memory.read(arg, cb)) return kEFault;
  if (cb.type != CALLBACKTYPE_event) return kEInval;
  auto& cfg = *reinterpret_cast<LoaderConfig*>(m_memory.frame(kHvFrameLoader));
  __atomic_store_n(&cfg.event_callback, cb.address, __ATOMIC_RELEASE);
  return 0;
}

long Domain::set_timer(uint64_t deadline) {
  m_timer_deadline = deadline;
  arm_timer();
  return 0;
}

void Domain::fire_timer() {
  m_timer_deadline = 0;
  if (auto port = m_evtchn.virq_port(VIRQ_TIMER)) raise(*port);
}

// A released number first, else a new one.
uint32_t Domain::take_backend_port(std::function<void()> on_notify) {
  if (m_free_backend_ports.empty()) {
    m_backend_handlers.push_back(std::move(on_notify));
    return static_cast<uint32_t>(m_backend_handlers.size() - 1);
  }
  uint32_t backend_port = m_free_backend_ports.back();
  m_free_backend_ports.pop_back();
  m_backend_handlers[backend_port] = std::move(on_notify);
  if (backend_port < m_backend_notified.size()) m_backend_notified[backend_port] = 0;
  return backend_port;
}

Result<EvtchnPort> Domain::connect_backend_port(std::function<void()> on_notify) {
  uint32_t backend_port = take_backend_port(std::move(on_notify));
  auto port = m_evtchn.alloc_connected(DomId(0), backend_port);
  if (!port.ok()) release_backend_port(backend_port);
  return port;
}

Result<uint32_t> Domain::bind_backend_port(EvtchnPort guest_port, std::function<void()> on_notify) {
  uint32_t backend_port = take_backend_port(std::move(on_notify));
  auto r = m_evtchn.connect_unbound(guest_port, DomId(0), backend_port);
  if (!r.ok()) {
    release_backend_port(backend_port);
    return r.error();
  }
  return backend_port;
}

void Domain::release_backend_port(uint32_t backend_port) {
  if (backend_port >= m_backend_handlers.size() || !m_backend_handlers[backend_port]) return;
  m_backend_handlers[backend_port] = nullptr;  // notify_backend() runs a copy: a handler may release its own port
  m_evtchn.unbind_remote(DomId(0), backend_port);
  m_free_backend_ports.push_back(backend_port);
}

// A backend's handler drains its whole ring, so a second send to the same
// port within one hypercall (a multicall may hold 32) finds nothing the first
// did not: it is coalesced, as a pending bit already set is on Xen. With one
// hypercall per domain per turn of the event loop (the loop serves one
// notification per ready listener), a domain so runs each of its backends at
// most once per turn, however it floods EVTCHNOP_send, and every other
// descriptor ready in that turn is served before its next one.
void Domain::notify_backend(uint32_t backend_port) {
  if (backend_port >= m_backend_handlers.size() || !m_backend_handlers[backend_port]) return;
  if (m_backend_notified.size() < m_backend_handlers.size()) m_backend_notified.resize(m_backend_handlers.size(), 0);
  // m_hypercalls counts the hypercall being served (from 1): a serial.
  if (m_backend_notified[backend_port] == m_hypercalls) {
    ++m_coalesced_notifications;
    return;
  }
  m_backend_notified[backend_port] = m_hypercalls;
  ++m_backend_notifications;
  // Copy: the handler may connect more ports and grow the vector.
  std::function<void()> handler = m_backend_handlers[backend_port];
  handler();
}

void Domain::raise(EvtchnPort port) {
  ++m_events_raised;
  if (evtchn_bits::set_pending(shared(), vcpu0(), port.value()) == evtchn_bits::Kick::kVcpu) kick_vcpu();
  wake_blocked_if_ready();
}

bool Domain::poll_ready(const Blocked& b) const {
  for (uint32_t p : b.poll_ports)
    if (evtchn_bits::is_pending(shared(), p)) return true;
  return false;
}

void Domain::wake_blocked_if_ready() {
  if (!m_blocked) return;
  bool ready = m_blocked->is_poll ? poll_ready(*m_blocked)
                                  : __atomic_load_n(&vcpu0()->evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0;
  if (!ready) return;
  uint64_t id = m_blocked->notif_id;
  m_blocked.reset();
  answer(id, 0);
  // The guest runs now and usually comes back within microseconds (a reply
  // to send, the next request): wait for that without sleeping, briefly.
  m_loop.poll_briefly(kWakePollNs);
}

// The upcall flag just went up. A blocked guest is woken by answering its
// SCHEDOP_block; a running one with upcalls unmasked gets the upcall signal. A guest
// inside a hypercall checks the flag itself when the hypercall returns.
void Domain::kick_vcpu() {
  if (m_blocked || m_in_hypercall) return;
  if (__atomic_load_n(&vcpu0()->evtchn_upcall_mask, __ATOMIC_SEQ_CST)) return;
  ++m_upcall_signals;
  if (m_pid > 0) kill(m_pid, kUpcallSignal);  // not reaped yet, so the pid is still ours
}

void Domain::report_fault(const seccomp_notif& n) {
  const auto* a = n.data.args;
  int signo = static_cast<int>(a[0]);
  char head[256];
  const char* what = signo == SIGSEGV ? "page fault" : signo == SIGILL ? "invalid instruction"
                   : signo == SIGFPE ? "arithmetic fault" : signo == SIGBUS ? "bus error" : "trap";
  std::snprintf(head, sizeof head, "guest %s (%s) at rip 0x%llx, address 0x%llx", what, strsignal(signo),
                static_cast<unsigned long long>(a[1]), static_cast<unsigned long long>(a[4]));
  std::string detail = head;
  if (signo == SIGSEGV && a[4] < 4096) detail += " (NULL pointer dereference)";
  if (signo == SIGSEGV) {
    for (const ImageSegment& s : m_image.segments())
      if (!(s.prot & kProtWrite) && a[4] >= s.vaddr && a[4] - s.vaddr < s.mem_size)
        detail += " (write to a read-only image segment: W^X)";
  }
  end(EndReason::kCrash, 0, detail + "\n" + backtrace(a[1], a[3]));
}

// Walks the guest's frame-pointer chain through checked guest-memory reads; any
// bad link just ends the walk.
std::string Domain::backtrace(uint64_t rip, uint64_t rbp) const {
  std::string out = "backtrace:";
  if (!m_image.has_symbols()) out += " (the image has no symbol table)";
  auto frame_line = [&](unsigned i, uint64_t pc) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "\n  #%-2u 0x%llx ", i, static_cast<unsigned long long>(pc));
    out += buf;
    out += m_image.symbolize(pc).value_or("?");
  };
  frame_line(0, rip);
  for (unsigned i = 1; i < 32 && rbp; ++i) {
    uint64_t link[2];
    if (!m_memory.read(rbp, link)) break;
    if (link[1] == 0) break;
    frame_line(i, link[1] - 1);  // the call instruction, not the return address
    if (link[0] <= rbp) break;   // stacks grow down: frames must move up
    rbp = link[0];
  }
  return out;
}

}  // namespace atl::hv
