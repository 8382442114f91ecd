// The host side of the hypervisor's TCP port forwards: the listening
// sockets, each connection's socket, the once-per-pass flush, and the timer
// that resends what the guest did not acknowledge.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "clock.h"
#include "tcp_splice.h"

namespace atl::hv {
namespace {

constexpr int kListenBacklog = 4096;
constexpr int kAcceptBatch = 64;
constexpr size_t kReadChunk = 256 << 10;
constexpr uint64_t kAcceptPauseNs = 100'000'000;

// Connections are many and sockets per process are not: as many as allowed.
void raise_file_limit() {
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
}

// Initial sequence numbers that grow with time (RFC 793's 4 µs clock) from a
// random start: a port pair used again starts above where it ended, which
// lets the guest's TIME-WAIT reopen for it.
uint32_t initial_sequence() {
  static uint32_t salt = [] {
    uint32_t s = 0;
    if (getrandom(&s, sizeof s, 0) != sizeof s) s = static_cast<uint32_t>(monotonic_ns());
    return s;
  }();
  return salt + static_cast<uint32_t>(monotonic_ns() / 4000);
}

}  // namespace

std::unique_ptr<TcpSplice> TcpSplice::try_create(EventLoop& loop, FramePort& port, const std::vector<HostFwd>& forwards,
                                                 size_t max_flows, std::string& error) {
  std::unique_ptr<TcpSplice> splice(new TcpSplice(loop, port, max_flows));
  for (const HostFwd& fwd : forwards)
    if (!fwd.udp && !splice->listen_on(fwd, error)) return nullptr;
  raise_file_limit();
  if (const char* t = getenv("ATOLL_TRACE_SPLICE"); t && *t && strcmp(t, "0") != 0) splice->trace();
  return splice;
}

TcpSplice::~TcpSplice() {
  for (auto& l : m_listeners) {
    m_loop.remove_fd(l->fd);
    close(l->fd);
  }
  for (auto& [k, f] : m_flows) {
    if (f->dead) continue;
    linger off{1, 0};
    setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
    if (f->watched) m_loop.remove_fd(f->fd);
    close(f->fd);
  }
  if (m_flush_timer) m_loop.cancel_timer(*m_flush_timer);
  if (m_tick_timer) m_loop.cancel_timer(*m_tick_timer);
  if (m_accept_timer) m_loop.cancel_timer(*m_accept_timer);
  if (m_trace_timer) m_loop.cancel_timer(*m_trace_timer);
}

bool TcpSplice::listen_on(const HostFwd& fwd, std::string& error) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = fwd.host_addr;
  sa.sin_port = htons(fwd.host_port);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, kListenBacklog) != 0) {
    error = "cannot forward host port " + format_hostfwd(fwd) + ": " + strerror(errno) + " (is the port in use?)";
    if (fd >= 0) close(fd);
    return false;
  }
  auto l = std::make_unique<Listener>(Listener{fd, fwd.guest_port, ntohl(fwd.guest_addr)});
  Listener* raw = l.get();
  m_listeners.push_back(std::move(l));
  m_loop.add_fd(fd, EPOLLIN, [this, raw](uint32_t) { on_acceptable(*raw); });
  return true;
}

void TcpSplice::on_acceptable(Listener& l) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        warn_limit(strerror(errno), "new connections wait in the listen backlog");
        pause_accepting();
      }
      return;
    }
    bool full = m_flows.size() >= m_max_flows;
    if (full || !start_flow(fd, l)) {
      ++m_counters.refused;
      std::string why = full ? std::to_string(m_max_flows) + " connections open (max_connections)" : "no port or descriptor for it";
      warn_limit(why.c_str(), "a new connection was reset");
      linger off{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
      close(fd);
    }
  }
}

// A limit reached is said on stderr, at most every ten seconds, with how
// many connections it has cost so far: never silent, never a flood.
void TcpSplice::warn_limit(const char* why, const char* what) {
  uint64_t now = monotonic_ns();
  if (m_last_warning != 0 && now - m_last_warning < kWarnEveryNs) return;
  m_last_warning = now;
  fprintf(stderr, "atoll: TCP port forwards: %s: %s (%llu refused so far, %zu open)\n", why, what,
          static_cast<unsigned long long>(m_counters.refused), m_flows.size());
}

// Out of descriptors: the backlog waits in the kernel until some close.
void TcpSplice::pause_accepting() {
  if (m_accept_timer) return;
  for (auto& l : m_listeners) m_loop.modify_fd(l->fd, 0);
  m_accept_timer = m_loop.add_timer(monotonic_ns() + kAcceptPauseNs, [this] {
    m_accept_timer.reset();
    for (auto& l : m_listeners) m_loop.modify_fd(l->fd, EPOLLIN);
  });
}

uint16_t TcpSplice::free_port(uint16_t guest_port) {
  for (uint32_t i = 0; i < kPortCount; ++i) {
    uint16_t port = static_cast<uint16_t>(kPortBase + (m_next_port++ % kPortCount));
    if (!m_flows.contains(key(guest_port, port))) return port;
  }
  return 0;
}

bool TcpSplice::start_flow(int fd, const Listener& l) {
  uint16_t port = free_port(l.guest_port);
  if (port == 0) return false;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto owned = std::make_unique<Flow>();
  Flow& f = *owned;
  f.key = key(l.guest_port, port);
  f.fd = fd;
  f.guest_port = l.guest_port;
  f.our_port = port;
  f.guest_addr = l.guest_addr ? l.guest_addr : m_guest_addr ? m_guest_addr : kDefaultGuest;
  f.iss = initial_sequence();
  f.snd_una = f.snd_nxt = f.iss;
  f.rto_ns = kSynRtoNs;
  uint32_t k = f.key;
  if (!m_loop.add_fd(fd, 0, [this, k](uint32_t events) { on_host_events(k, events); })) return false;
  f.watched = true;
  m_flows.emplace(k, std::move(owned));
  ++m_counters.accepted;
  // Before the guest has sent a frame its MAC is unknown: the tick sends the SYN.
  if (m_guest_mac_known) send_syn(f);
  f.deadline = monotonic_ns() + (m_guest_mac_known ? f.rto_ns : 0);
  arm_tick();
  return true;
}

void TcpSplice::on_host_events(uint32_t k, uint32_t events) {
  auto it = m_flows.find(k);
  if (it == m_flows.end() || it->second->dead) return;
  Flow& f = *it->second;
  if (events & EPOLLERR) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(f.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return close_flow(f, true, false, "host socket error");
  }
  if (events & EPOLLOUT) {
    write_host(f);
    // The window opened: the guest hears it now, not from its own probes,
    // whose timers back off to a minute while a client does not read.
    if (f.ack_due) mark_dirty(f);
  }
  if (f.dead) return;
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    if (f.events & EPOLLIN) {
      read_host(f);
    } else if (events & (EPOLLHUP | EPOLLERR)) {
      // Reported whatever was asked: not watched until there is room to read.
      m_loop.remove_fd(f.fd);
      f.watched = false;
      f.events = 0;
    }
  }
}

void TcpSplice::read_host(Flow& f) {
  while (!f.host_eof) {
    size_t want = std::min(room_out(f), kReadChunk);
    if (want == 0) {
      if (f.out.size() < kOutCap) hold_back(f);  // by kTotalCap
      break;
    }
    // Straight into the queue when it has the room already (a transfer under
    // way); otherwise into the scratch buffer and only what came is queued.
    bool direct = f.out.spare() >= want;
    if (!direct && !m_scratch) m_scratch = std::make_unique_for_overwrite<uint8_t[]>(kReadChunk);
    uint8_t* room = direct ? f.out.prepare(want).data() : m_scratch.get();
    ssize_t n = recv(f.fd, room, want, MSG_DONTWAIT);
    if (n > 0) {
      if (direct)
        f.out.commit(static_cast<size_t>(n));
      else
        f.out.append({room, static_cast<size_t>(n)});
      account(f);
      if (static_cast<size_t>(n) < want) break;
    } else if (n == 0) {
      f.host_eof = true;
    } else if (errno == EAGAIN || errno == EINTR) {
      break;
    } else {
      return close_flow(f, true, false, "host recv failed");
    }
  }
  update_host_events(f);
  mark_dirty(f);
}

void TcpSplice::write_host(Flow& f) {
  while (!f.in.empty()) {
    std::span<const uint8_t> data = f.in.bytes();
    ssize_t n = send(f.fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      f.in.consume(static_cast<size_t>(n));
      account(f);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      break;
    } else {
      return close_flow(f, true, false, "host send failed");
    }
  }
  if (f.in.empty() && f.guest_fin && !f.host_shut) {
    shutdown(f.fd, SHUT_WR);
    f.host_shut = true;
  }
  // A window that opened by a quarter of the buffer is worth telling.
  // (Not after the guest's FIN: it sends nothing more, and lwIP answers a
  // segment for a connection it has forgotten with a reset.)
  size_t room = window_room(f);
  if (!f.guest_fin && room >= f.advertised + kInCap / 4) f.ack_due = true;
  update_host_events(f);
}

void TcpSplice::update_host_events(Flow& f) {
  if (f.dead) return;
  uint32_t want = (f.established && !f.host_eof && !f.guest_gone && room_out(f) > 0 ? uint32_t(EPOLLIN) : 0u) |
                  (f.in.empty() ? 0u : uint32_t(EPOLLOUT));
  if (!f.watched) {
    if (want == 0) return;
    uint32_t k = f.key;
    f.watched = m_loop.add_fd(f.fd, want, [this, k](uint32_t events) { on_host_events(k, events); });
  } else if (want != f.events) {
    m_loop.modify_fd(f.fd, want);
  }
  f.events = want;
}

void TcpSplice::mark_dirty(Flow& f) {
  if (!f.dirty) {
    f.dirty = true;
    m_dirty.push_back(f.key);
  }
  if (m_flush_timer) return;
  // Deadline 0: after this pass's handlers, before the loop sleeps.
  m_flush_timer = m_loop.add_timer(0, [this] {
    m_flush_timer.reset();
    flush();
  });
}

void TcpSplice::flush() {
  std::vector<uint32_t> dirty;
  dirty.swap(m_dirty);
  for (uint32_t k : dirty) {
    auto it = m_flows.find(k);
    if (it == m_flows.end()) continue;
    Flow& f = *it->second;
    f.dirty = false;
    if (!f.dead && (!f.in.empty() || (f.guest_fin && !f.host_shut))) write_host(f);
    if (!f.dead) pump(f);
    // While netback holds the uplink paused its backlog to the guest is full:
    // an ACK now could be dropped, and the guest would wait for its timeout
    // to hear it again. It goes when the port resumes (on_resumed).
    if (!f.dead && f.ack_due && !f.guest_gone && !m_port.paused()) send_segment(f, kTcpAck, f.snd_nxt, {});
    if (!f.dead) maybe_finish(f);
    if (f.dead) m_flows.erase(it);
  }
}

void TcpSplice::maybe_finish(Flow& f) {
  if ((f.fin_acked || f.guest_gone) && f.guest_fin && f.host_shut) close_flow(f, false, false, nullptr);
}

void TcpSplice::close_flow(Flow& f, bool reset_guest, bool reset_host, const char* why) {
  if (why && m_trace_timer)
    fprintf(stderr, "atoll: forwards trace: port %u ends: %s (%u bytes from the guest, %zu not yet written)\n",
            f.our_port, why, f.rcv_nxt - f.irs, f.in.size());
  if (reset_guest) send_segment(f, kTcpRst | kTcpAck, f.snd_nxt, {});
  if (reset_host) {
    linger off{1, 0};
    setsockopt(f.fd, SOL_SOCKET, SO_LINGER, &off, sizeof off);
  }
  if (f.watched) m_loop.remove_fd(f.fd);
  close(f.fd);
  f.watched = false;
  f.dead = true;
  account(f);
  // Erased by flush(): callers up the stack still hold the reference.
  mark_dirty(f);
}

void TcpSplice::on_resumed() {
  // Everything pump() and flush() held back while the port was paused: data,
  // an ACK, and a FIN after the host's EOF (without it the guest never hears
  // that the client left, and the flow and its socket stayed for good).
  for (auto& [k, f] : m_flows)
    if (!f->dead && f->established && (f->out.size() > 0 || f->ack_due || (f->host_eof && !f->fin_sent)))
      mark_dirty(*f);
}

void TcpSplice::trace() {
  size_t n = 0, shown = 0, with_in = 0, with_out = 0, zero_wnd = 0, ack_due = 0, deadline = 0, unwatched = 0;
  for (auto& [k, fp] : m_flows) {
    Flow& f = *fp;
    ++n;
    // In detail: three of those the guest is still sending on.
    bool busy = !f.dead && !f.guest_fin;
    with_in += !f.in.empty();
    with_out += !f.out.empty();
    zero_wnd += f.snd_wnd == 0;
    ack_due += f.ack_due;
    deadline += f.deadline != 0;
    unwatched += !f.watched;
    if (busy && shown++ < 3)
      fprintf(stderr,
              "atoll: forwards trace: port %u est=%d dead=%d rcvd=%u in=%zu adv=%zu ack_due=%d guest_fin=%d host_shut=%d | "
              "sent=%u flight=%u snd_wnd=%u out=%zu host_eof=%d fin_sent=%d deadline=%d retries=%u probe=%d "
              "events=%x watched=%d dirty=%d\n",
              f.our_port, f.established, f.dead, f.rcv_nxt - f.irs, f.in.size(), f.advertised, f.ack_due,
              f.guest_fin, f.host_shut, f.snd_una - f.iss, f.snd_nxt - f.snd_una, f.snd_wnd, f.out.size(),
              f.host_eof, f.fin_sent, f.deadline != 0, f.retries, f.probe, f.events, f.watched, f.dirty);
  }
  fprintf(stderr,
          "atoll: forwards trace: %zu flows, %zu with in, %zu with out, %zu zero wnd, %zu ack_due, %zu deadline, %zu unwatched, "
          "paused=%d dirty=%zu tick=%d flush=%d retrans=%llu\n",
          n, with_in, with_out, zero_wnd, ack_due, deadline, unwatched, m_port.paused(), m_dirty.size(),
          bool(m_tick_timer), bool(m_flush_timer), static_cast<unsigned long long>(m_counters.retransmits));
  m_trace_timer = m_loop.add_timer(monotonic_ns() + 5'000'000'000, [this] {
    m_trace_timer.reset();
    trace();
  });
}

void TcpSplice::arm_tick() {
  if (m_tick_timer) return;
  m_tick_timer = m_loop.add_timer(monotonic_ns() + kTickNs, [this] {
    m_tick_timer.reset();
    on_tick();
  });
}

void TcpSplice::on_tick() {
  uint64_t now = monotonic_ns();
  bool more = false;
  for (auto& [k, fp] : m_flows) {
    Flow& f = *fp;
    if (f.dead || f.deadline == 0) continue;
    more = true;
    if (now < f.deadline) continue;
    if (m_port.paused()) {
      // Nothing can be sent to the guest now: not a timeout of its making.
      f.deadline = now + f.rto_ns;
      continue;
    }
    unsigned limit = f.established ? kMaxRetries : kMaxSynRetries;
    if (f.retries++ >= limit) {
      close_flow(f, f.established, true, "the guest did not answer");
      continue;
    }
    f.deadline = 0;
    if (!f.established) {
      if (m_guest_mac_known) send_syn(f);
      f.deadline = now + (f.rto_ns << std::min(f.retries, 5u));
      continue;
    }
    // Everything unacknowledged goes again (the rings lose nothing, so this
    // is the guest having dropped it), or a byte probes a zero window.
    if (f.snd_nxt != f.snd_una) ++m_counters.retransmits;
    f.snd_nxt = f.snd_una;
    f.fin_sent = false;
    f.probe = f.snd_wnd == 0;
    f.rto_ns = std::min(f.rto_ns * 2, kRtoMaxNs);
    mark_dirty(f);
  }
  if (more) arm_tick();
}

}  // namespace atl::hv
