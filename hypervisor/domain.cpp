#include "domain.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>
#include <string>

#include "atoll/evtchn_bits.h"
#include "process_usage.h"
#include "sandbox.h"

namespace atl::hv {

using namespace hosted;

const char* to_string(EndReason r) {
  switch (r) {
    case EndReason::kPoweroff: return "poweroff";
    case EndReason::kReboot: return "reboot";
    case EndReason::kCrash: return "crash";
    case EndReason::kSuspend: return "suspend";
    case EndReason::kWatchdog: return "watchdog";
    case EndReason::kForbiddenSyscall: return "killed (forbidden system call)";
    case EndReason::kKilled: return "killed";
    case EndReason::kInterrupted: return "interrupted";
    case EndReason::kStartFailed: return "failed to start";
  }
  return "?";
}

namespace {

// The least heap a domain starts with: the kernel's own allocations at boot
// (idle thread, grant free list, xenstore client) fit comfortably.
constexpr uint64_t kMinHeap = 256 * 1024;
constexpr uint64_t kPrefaultHeap = 192 * 1024;
constexpr uint64_t kPrefaultStack = 32 * 1024;
// ABI: include/uapi/linux/seccomp.h (Linux 6.6), newer than Debian 12's headers.
constexpr unsigned long kSeccompIoctlNotifSetFlags = _IOW('!', 4, uint64_t);
constexpr unsigned long kSeccompFdSyncWakeUp = 1;
// A loader that has not sealed its guest by then has failed.
constexpr uint64_t kStartTimeoutNs = 10'000'000'000ULL;

std::string errno_text(const char* what) { return std::string(what) + ": " + strerror(errno); }

const char* loader_status_text(char c) {
  switch (static_cast<LoaderStatus>(c)) {
    case LoaderStatus::kBadConfig: return "the loader rejected its configuration";
    case LoaderStatus::kMapFailed: return "the loader could not map guest memory at its fixed address";
    case LoaderStatus::kProtectFailed: return "the loader could not apply segment protections";
    case LoaderStatus::kSignalSetupFailed: return "the loader could not install its signal handlers";
    case LoaderStatus::kSeccompFailed: return "the loader could not install its seccomp filter";
    default: return "the loader failed";
  }
}

}  // namespace

Domain::Domain(EventLoop& loop, const DomainConfig& config, const ElfImage& image, GuestMemory memory, uint16_t domid)
    : m_loop(loop), m_config(config), m_image(image), m_memory(std::move(memory)), m_domid(domid), m_evtchn(DomId(domid)) {}

Domain::~Domain() {
  stop_start_watch();
  if (m_timer) m_loop.cancel_timer(*m_timer);
  if (m_pid > 0) {
    kill(m_pid, SIGKILL);
    waitpid(m_pid, nullptr, 0);
  }
  for (int fd : {m_pidfd, m_listener})
    if (fd >= 0) close(fd);
}

void Domain::log(const char* fmt, ...) const {
  if (!m_config.verbose) return;
  va_list ap;
  va_start(ap, fmt);
  char line[512];
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  double ms = (monotonic_ns() - m_t_create) / 1e6;
  fprintf(stderr, "[atoll %8.3f ms] dom%u: %s\n", ms, m_domid, line);
}

std::unique_ptr<Domain> Domain::try_create(EventLoop& loop, const DomainConfig& config, const ElfImage& image,
                                           uint16_t domid, std::string& error) {
  uint64_t t0 = monotonic_ns();
  if (config.memory % kPageSize || config.memory < kMinMemory || config.memory > kMaxMemory) {
    error = "memory size must be a multiple of 4 KiB between 1 MiB and 3840 MiB";
    return nullptr;
  }
  const uint64_t archive_room = (config.archive.size() + kPageSize - 1) & ~(kPageSize - 1);
  const uint64_t needed = image.end() - kGuestBase + archive_room + kMinHeap;
  if (needed > config.memory) {
    error = "this image needs at least " + std::to_string(needed >> 10) + " KiB of memory (image and boot stack " +
            std::to_string((image.end() - kGuestBase) >> 10) + " KiB, " +
            (archive_room ? "archive " + std::to_string(archive_room >> 10) + " KiB, " : std::string()) + "plus a " + std::to_string(kMinHeap >> 10) + " KiB heap), not " +
            std::to_string(config.memory >> 10) + " KiB; raise --memory";
    return nullptr;
  }
  auto memory = GuestMemory::try_create(config.memory, error);
  if (!memory) return nullptr;
  std::unique_ptr<Domain> d(new Domain(loop, config, image, std::move(*memory), domid));
  d->m_t_create = t0;
  if (!d->build(error)) return nullptr;
  return d;
}

// Lays out the domain: image segments, start_info, shared_info, and the loader's
// configuration page.
bool Domain::build(std::string& error) {
  auto& cfg = *reinterpret_cast<LoaderConfig*>(m_memory.frame(kHvFrameLoader));
  cfg.magic = kLoaderMagic;
  cfg.memory_size = m_config.memory;
  cfg.entry = m_image.entry();
  cfg.stack_top = gpa_to_va(kBootStackTopGpa);
  cfg.start_info = gpa_to_va(kStartInfoGpa);
  for (const ImageSegment& s : m_image.segments()) {
    uint64_t gpa = s.vaddr - kGuestBase;
    // pwrite fills the fresh memfd pages in the kernel; copying through our mapping
    // would take a page fault (~10 us here) per page.
    if (pwrite(m_memory.ram_fd(), m_image.bytes().data() + s.file_offset, s.file_size, gpa) !=
        static_cast<ssize_t>(s.file_size)) {
      error = errno_text("loading the image into guest memory");
      return false;
    }
    if (cfg.segment_count == kMaxLoaderSegments) { error = "the image has too many loadable segments"; return false; }
    uint64_t start = gpa & ~(kPageSize - 1);
    uint64_t end = (gpa + s.mem_size + kPageSize - 1) & ~(kPageSize - 1);
    cfg.segments[cfg.segment_count++] = {start, end - start, s.prot, 0};
  }

  // The archive goes right after the image, read-only, where start_info's
  // mod_start says (Xen's boot module, as a ramdisk would be); the guest's heap
  // starts after it.
  uint64_t image_end = m_image.end() - kGuestBase;
  const uint64_t archive_gpa = image_end;
  if (!m_config.archive.empty()) {
    if (pwrite(m_memory.ram_fd(), m_config.archive.data(), m_config.archive.size(), archive_gpa) !=
        static_cast<ssize_t>(m_config.archive.size())) {
      error = errno_text("loading the archive into guest memory");
      return false;
    }
    if (cfg.segment_count == kMaxLoaderSegments) { error = "the image has too many loadable segments"; return false; }
    uint64_t length = (m_config.archive.size() + kPageSize - 1) & ~(kPageSize - 1);
    cfg.segments[cfg.segment_count++] = {archive_gpa, length, kProtRead, 0};
    image_end += length;
  }

  // What the guest writes first: its boot pages and stack top, its data and bss,
  // and the start of its heap.
  const uint64_t heap_prefault = std::min<uint64_t>(kPrefaultHeap, m_config.memory - image_end);
  cfg.populate[cfg.populate_count++] = {0, kPageSize * 4, kProtRead | kProtWrite, 0};
  cfg.populate[cfg.populate_count++] = {kBootStackTopGpa - kPrefaultStack, kPrefaultStack, kProtRead | kProtWrite, 0};
  for (uint32_t i = 0; i < cfg.segment_count; ++i)
    if ((cfg.segments[i].prot & kProtWrite) && cfg.populate_count < 3) cfg.populate[cfg.populate_count++] = cfg.segments[i];
  cfg.populate[cfg.populate_count++] = {image_end, heap_prefault, kProtRead | kProtWrite, 0};

  auto* si = reinterpret_cast<start_info_t*>(m_memory.ram_at(kStartInfoGpa));
  std::snprintf(si->magic, sizeof si->magic, "xen-3.0-x86_64");
  si->nr_pages = m_config.memory / kPageSize;
  si->shared_info = kHvFramesGpa + kHvFrameSharedInfo * kPageSize;
  si->flags = 0;
  si->mod_start = m_config.archive.empty() ? 0 : gpa_to_va(archive_gpa);
  si->mod_len = m_config.archive.size();
  size_t n = std::min(m_config.cmdline.size(), sizeof si->cmd_line - 1);
  std::memcpy(si->cmd_line, m_config.cmdline.data(), n);
  si->cmd_line[n] = 0;

  // The console and xenstore pages are granted to domain 0 (the backends here) in
  // the reserved entries, as Xen's toolstack does.
  m_gnttab.write_entry(GrantRef(GNTTAB_RESERVED_CONSOLE), DomId(0), kConsolePageGpa >> 12, false);
  m_gnttab.write_entry(GrantRef(GNTTAB_RESERVED_XENSTORE), DomId(0), kXenstorePageGpa >> 12, false);

  shared_info* s = shared();
  vcpu0()->evtchn_upcall_mask = 1;  // upcalls start masked, as on Xen
  // Ports start unmasked (shared_info is zeroed), as on Xen.
  m_clock.publish(&vcpu0()->time);
  TscClock::publish_wallclock(s);
  return true;
}

void Domain::set_console(uint64_t gfn, EvtchnPort port) {
  auto* si = reinterpret_cast<start_info_t*>(m_memory.ram_at(kStartInfoGpa));
  si->console.domU.mfn = gfn;
  si->console.domU.evtchn = port.value();
}

void Domain::set_store(uint64_t gfn, EvtchnPort port) {
  auto* si = reinterpret_cast<start_info_t*>(m_memory.ram_at(kStartInfoGpa));
  si->store_mfn = gfn;
  si->store_evtchn = port.value();
}

// A loader for the domain: one waiting in the pool, or the pool's next
// (the domain waits for it from the loop), or one spawned for it here.
bool Domain::spawn(SandboxPool* pool, std::string& error) {
  std::optional<Sandbox> sandbox;
  if (pool) sandbox = pool->adopt(m_memory.ram_fd(), m_memory.frames_fd());
  if (sandbox) {
    log("loader taken from the pool (pid %d)", sandbox->pid);
  } else if (pool) {
    m_claim = pool->claim(m_memory.ram_fd(), m_memory.frames_fd(), [this](std::optional<Sandbox> s) {
      m_claim = 0;
      std::string why;
      if (s) log("loader started for it by the pool (pid %d)", s->pid);
      else s = spawn_sandbox(m_memory.ram_fd(), m_memory.frames_fd(), why);
      if (s) sealing(*s);
      else end(EndReason::kStartFailed, 0, why);
    });
    if (m_claim) {
      m_pool = pool;
      log("waiting for the pool's next loader");
      arm_start_timer();
      return true;
    }
  }
  if (!sandbox) sandbox = spawn_sandbox(m_memory.ram_fd(), m_memory.frames_fd(), error);
  if (!sandbox) return false;
  sealing(*sandbox);
  return true;
}

// The loader has the domain's memfds and is sealing the guest.
void Domain::sealing(const Sandbox& sandbox) {
  // The loader has its copies; our mappings keep the memory, and nothing
  // here needs the descriptors again: two fewer per domain in a fleet.
  m_memory.close_fds();
  m_pid = sandbox.pid;
  m_pidfd = sandbox.pidfd;
  log("loader spawned (pid %d)", m_pid);
  // The loader reports on the pipe once it has dropped every descriptor; the
  // loop hears it, so a daemon starting many domains waits for none of them.
  m_status_fd = sandbox.status_fd;
  m_loop.add_fd(m_status_fd, EPOLLIN, [this](uint32_t) { on_loader_status(); });
  if (!m_start_timer) arm_start_timer();
  // Until the guest is sealed, the pidfd tells if the loader dies.
  m_loop.add_fd(m_pidfd, EPOLLIN, [this](uint32_t) { classify_exit(); });
  if (m_config.cpu_cap)
    m_cpu_cap = std::make_unique<CpuCap>(m_loop, m_pid, m_config.cpu_cap, [this](bool hold) {
      m_throttled = hold;
      apply_stop();
    });
}

void Domain::arm_start_timer() {
  m_start_deadline = monotonic_ns() + kStartTimeoutNs;
  m_start_timer = m_loop.add_timer(m_start_deadline, [this] {
    m_start_timer.reset();
    if (m_listener < 0) end(EndReason::kStartFailed, 0, "timed out waiting for the guest loader to seal the domain");
  });
}

void Domain::on_loader_status() {
  char status = 0;
  ssize_t got = read(m_status_fd, &status, 1);
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
  m_loop.remove_fd(m_status_fd);
  close(m_status_fd);
  m_status_fd = -1;
  if (got != 1 || status != static_cast<char>(LoaderStatus::kSealing)) {
    end(EndReason::kStartFailed, 0, got == 1 ? loader_status_text(status) : "the guest loader exited before sealing the domain");
    return;
  }
  take_listener();
}

// The loader closes every descriptor and then creates the seccomp listener,
// which therefore is its fd 0; take it as soon as it exists. It appears
// microseconds after the status byte, and the guest waits in its first
// hypercall until it is taken, so the retries run from the loop (other
// domains are served in between) and yield the CPU to the loader.
void Domain::take_listener() {
  if (m_end) return;
  int fd = static_cast<int>(syscall(SYS_pidfd_getfd, m_pidfd, 0, 0));
  if (fd < 0) {
    if (errno != EBADF) {
      end(EndReason::kStartFailed, 0, errno_text("pidfd_getfd (is ptrace restricted by Yama?)"));
      return;
    }
    sched_yield();
    m_listener_retry = m_loop.add_timer(monotonic_ns(), [this] {
      m_listener_retry.reset();
      take_listener();
    });
    return;
  }
  m_listener = fd;
  fcntl(m_listener, F_SETFD, FD_CLOEXEC);
  stop_start_watch();
  // From here the listener says when the guest dies (EPOLLHUP once the process
  // has exited), and the pid, ours until we reap it, serves signals: the pidfd
  // goes, and a domain holds one descriptor in all (docs/fleet.md).
  m_loop.remove_fd(m_pidfd);
  close(m_pidfd);
  m_pidfd = -1;
  // A hypercall is a ping-pong: the guest sleeps until it is answered, and
  // the loop thread sleeps until the next one. Synchronous wake-ups (Linux
  // >= 6.6) let the scheduler run the woken side on the waker's CPU instead
  // of a cross-CPU wake-up: ~11 us a round trip instead of ~20 here
  // (docs/architecture.md). Older kernels refuse the ioctl, and nothing
  // depends on it. ATOLL_NO_SYNC_WAKE=1 turns it off, for comparisons.
  if (getenv("ATOLL_NO_SYNC_WAKE")) log("synchronous wake-ups off (ATOLL_NO_SYNC_WAKE)");
  else if (ioctl(m_listener, kSeccompIoctlNotifSetFlags, kSeccompFdSyncWakeUp) != 0)
    log("synchronous wake-ups unavailable (Linux < 6.6): hypercalls cost a cross-CPU wake-up");
  log("guest sealed");
  serve_listener();
}

void Domain::serve_listener() {
  m_loop.add_fd(m_listener, EPOLLIN, [this](uint32_t events) {
    if (events & (EPOLLHUP | EPOLLERR)) classify_exit(); else serve_notification();
  });
}

void Domain::stop_start_watch() {
  if (m_claim) m_pool->cancel(m_claim);
  m_claim = 0;
  if (m_start_timer) m_loop.cancel_timer(*m_start_timer);
  if (m_listener_retry) m_loop.cancel_timer(*m_listener_retry);
  m_start_timer.reset();
  m_listener_retry.reset();
  if (m_status_fd >= 0) {
    m_loop.remove_fd(m_status_fd);
    close(m_status_fd);
    m_status_fd = -1;
  }
}

bool Domain::start(std::string& error, SandboxPool* pool) { return spawn(pool, error); }

// One loop timer serves both deadlines a domain can have (its set_timer_op
// timer and a SCHEDOP_poll timeout); the loop's timers, not a timerfd each, so
// a domain costs no descriptor for them (docs/fleet.md).
void Domain::arm_timer() {
  uint64_t poll = m_blocked && m_blocked->is_poll ? m_blocked->poll_deadline : 0;
  uint64_t at = m_timer_deadline && poll ? std::min(m_timer_deadline, poll) : std::max(m_timer_deadline, poll);
  if (m_timer && at == m_timer_at) return;
  if (m_timer) m_loop.cancel_timer(*m_timer);
  m_timer.reset();
  m_timer_at = at;
  if (at) m_timer = m_loop.add_timer(at, [this] {
    m_timer.reset();
    on_timer();
  });
}

void Domain::on_timer() {
  uint64_t now = monotonic_ns();
  if (m_timer_deadline && m_timer_deadline <= now) fire_timer();
  if (m_blocked && m_blocked->is_poll && m_blocked->poll_deadline && m_blocked->poll_deadline <= now) {
    uint64_t id = m_blocked->notif_id;
    m_blocked.reset();
    answer(id, 0);  // SCHEDOP_poll timed out
  }
  arm_timer();
}

bool Domain::pause() {
  if (m_end || m_paused || m_pid < 0) return false;
  m_paused = true;
  if (apply_stop()) return true;
  m_paused = false;
  return false;
}

bool Domain::unpause() {
  if (m_end || !m_paused || m_pid < 0) return false;
  m_paused = false;
  if (apply_stop()) return true;
  m_paused = true;
  return false;
}

bool Domain::apply_stop() {
  bool want = m_paused || m_throttled;
  if (want == m_stopped) return true;
  if (kill(m_pid, want ? SIGSTOP : SIGCONT) != 0) return false;
  m_stopped = want;
  return true;
}

std::optional<uint64_t> Domain::main_ns() const {
  BootRecord boot;
  std::memcpy(&boot, m_memory.ram_at(kBootRecordGpa), sizeof boot);  // copied once: the guest may change it
  if (boot.magic != kBootRecordMagic || boot.main_ns < m_t_create) return std::nullopt;
  return boot.main_ns;
}

DomainUsage Domain::usage() const {
  DomainUsage u;
  u.cpu_ns = process_cpu_ns(m_pid).value_or(0);
  u.rss_bytes = process_rss_bytes(m_pid).value_or(0);
  u.hypercalls = m_hypercalls;
  u.events_sent = m_events_sent;
  u.events_raised = m_events_raised;
  if (m_cpu_cap) {
    u.throttled_ns = m_cpu_cap->throttled_ns();
    u.throttled = m_cpu_cap->holding();
  }
  return u;
}

void Domain::destroy(EndReason reason, std::string detail) { end(reason, 0, std::move(detail)); }

DomainEnd Domain::finish() {
  stop_start_watch();
  m_cpu_cap.reset();
  if (m_timer) m_loop.cancel_timer(*m_timer);
  m_timer.reset();
  for (int fd : {m_listener, m_pidfd})
    if (fd >= 0) m_loop.remove_fd(fd);
  for (auto& hook : m_end_hooks) hook();
  m_end_hooks.clear();
  auto* boot = reinterpret_cast<const BootRecord*>(m_memory.ram_at(kBootRecordGpa));
  if (boot->magic == kBootRecordMagic && boot->main_ns > m_t_create) {
    log("boot: kernel entry at %.3f ms, main() at %.3f ms after domain creation",
        (boot->kernel_entry_ns - m_t_create) / 1e6, (boot->main_ns - m_t_create) / 1e6);
  }
  log("ended: %s after %llu hypercalls, %llu upcall signals, %llu backend notifications (%llu more coalesced)",
      to_string(m_end->reason), static_cast<unsigned long long>(m_hypercalls),
      static_cast<unsigned long long>(m_upcall_signals), static_cast<unsigned long long>(m_backend_notifications),
      static_cast<unsigned long long>(m_coalesced_notifications));
  return *m_end;
}

void Domain::end(EndReason reason, int status, std::string detail) {
  if (m_end) return;
  m_end = DomainEnd{reason, status, std::move(detail)};
  if (m_claim) m_pool->cancel(m_claim);  // no loader will come for it
  m_claim = 0;
  if (m_pid > 0) kill(m_pid, SIGKILL);
  close_interdomain();
  if (m_on_ended) m_on_ended();
}

// The guest process died without a shutdown hypercall: find out how.
void Domain::classify_exit() {
  siginfo_t si{};
  // The listener hangs up as the process exits, a moment before it can be
  // reaped: the level-triggered event comes back until it can.
  if (m_pid <= 0 || waitid(P_PID, m_pid, &si, WEXITED | WNOHANG) != 0 || si.si_pid == 0) return;
  m_pid = -1;
  if (m_listener < 0) {
    // Still sealing: the loader's status byte, if it wrote one, says why.
    if (m_status_fd >= 0) on_loader_status();
    end(EndReason::kStartFailed, 0, "the guest loader exited while sealing the domain");
    return;
  }
  if (si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED) {
    if (si.si_status == SIGSYS)
      end(EndReason::kForbiddenSyscall, 0,
          "the guest made a Linux system call outside the hypercall path and was killed by its seccomp filter");
    else
      end(EndReason::kCrash, 0, std::string("the guest process was killed by ") + strsignal(si.si_status));
  } else {
    end(EndReason::kCrash, 0, "the guest process exited on its own (status " + std::to_string(si.si_status) + ")");
  }
}

}  // namespace atl::hv
