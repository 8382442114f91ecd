// atoll-slirp: user-mode networking for one vif, in its own process. The
// hypervisor (statically linked, and so unable to load libslirp and its GLib)
// starts it with a SOCK_SEQPACKET socket on descriptor 3 that carries one
// Ethernet frame per message both ways. libslirp answers the guest's DHCP and
// DNS, NATs its TCP/UDP to the host's sockets and forwards host ports to it.
//
// Keeping slirp out of the hypervisor also keeps its parser of guest packets
// away from the hypervisor's memory: a bug there costs this process only.
//
// Protocol on descriptor 3: the first message this process sends is a status
// line, "ok" or "error: <why>"; frames follow in both directions. EOF on the
// socket ends the process, and so does the parent's death (PDEATHSIG).
#include <arpa/inet.h>
#include <libslirp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "vif_config.h"

namespace {

constexpr int kLink = 3;

struct Timer {
  SlirpTimerCb cb;
  void* cb_opaque;
  int64_t expire_ms = -1;  // -1 = not armed
};

struct State {
  Slirp* slirp = nullptr;
  std::vector<pollfd> fds;
  std::vector<Timer*> timers;
};

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

ssize_t send_packet(const void* buf, size_t len, void*) {
  // A full socket gets a few milliseconds before the frame is dropped, as a
  // busy NIC would drop it: a drop costs the guest a retransmission timeout.
  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t n = send(kLink, buf, len, MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno != EAGAIN) break;
    pollfd p{kLink, POLLOUT, 0};
    if (poll(&p, 1, 5) != 1) break;
  }
  return 0;
}

void guest_error(const char* msg, void*) { fprintf(stderr, "atoll-slirp: guest error: %s\n", msg); }
int64_t clock_get_ns(void*) { return now_ns(); }

void* timer_new(SlirpTimerCb cb, void* cb_opaque, void* opaque) {
  auto* t = new Timer{cb, cb_opaque};
  static_cast<State*>(opaque)->timers.push_back(t);
  return t;
}

void timer_free(void* timer, void* opaque) {
  auto& timers = static_cast<State*>(opaque)->timers;
  for (size_t i = 0; i < timers.size(); ++i)
    if (timers[i] == timer) timers.erase(timers.begin() + static_cast<long>(i));
  delete static_cast<Timer*>(timer);
}

void timer_mod(void* timer, int64_t expire_ms, void*) { static_cast<Timer*>(timer)->expire_ms = expire_ms; }
void register_poll_fd(int, void*) {}
void unregister_poll_fd(int, void*) {}
void notify(void*) {}

int add_poll(int fd, int events, void* opaque) {
  auto& fds = static_cast<State*>(opaque)->fds;
  short e = 0;
  if (events & SLIRP_POLL_IN) e |= POLLIN;
  if (events & SLIRP_POLL_OUT) e |= POLLOUT;
  if (events & SLIRP_POLL_PRI) e |= POLLPRI;
  fds.push_back(pollfd{fd, e, 0});
  return static_cast<int>(fds.size() - 1);
}

int get_revents(int idx, void* opaque) {
  short r = static_cast<State*>(opaque)->fds[static_cast<size_t>(idx)].revents;
  int e = 0;
  if (r & POLLIN) e |= SLIRP_POLL_IN;
  if (r & POLLOUT) e |= SLIRP_POLL_OUT;
  if (r & POLLPRI) e |= SLIRP_POLL_PRI;
  if (r & POLLERR) e |= SLIRP_POLL_ERR;
  if (r & POLLHUP) e |= SLIRP_POLL_HUP;
  return e;
}

void status(const std::string& text) { send(kLink, text.data(), text.size(), 0); }

in_addr addr(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a;
}

void run_timers(State& st) {
  int64_t now_ms = now_ns() / 1000000;
  // A callback may free or re-arm timers: scan a copy.
  std::vector<Timer*> due;
  for (Timer* t : st.timers)
    if (t->expire_ms >= 0 && t->expire_ms <= now_ms) due.push_back(t);
  for (Timer* t : due) {
    bool still_there = false;
    for (Timer* u : st.timers) still_there |= u == t;
    if (!still_there) continue;
    t->expire_ms = -1;
    t->cb(t->cb_opaque);
  }
}

uint32_t next_timer_ms(const State& st, uint32_t timeout) {
  int64_t now_ms = now_ns() / 1000000;
  for (const Timer* t : st.timers) {
    if (t->expire_ms < 0) continue;
    int64_t left = t->expire_ms > now_ms ? t->expire_ms - now_ms : 0;
    if (left < timeout) timeout = static_cast<uint32_t>(left);
  }
  return timeout;
}

// libslirp listens for forwarded ports with a backlog of 1, so a burst of
// connections (a browser, wrk) loses SYNs and waits out the client's 1 s
// retransmission timer. Listening again on a listening socket only raises its
// backlog, so do that for every one slirp made.
void widen_listen_backlogs() {
  for (int fd = kLink + 1; fd < 1024; ++fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening) listen(fd, SOMAXCONN);
  }
}

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  signal(SIGPIPE, SIG_IGN);
  // Every guest connection is a host socket here: allow as many as the hard
  // limit does (the usual soft limit of 1024 would cap an appliance there).
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  std::vector<atl::hv::HostFwd> forwards;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    atl::hv::HostFwd fwd;
    if (a == "--hostfwd" && i + 1 < argc && atl::hv::parse_hostfwd(argv[i + 1], fwd)) {
      forwards.push_back(fwd);
      ++i;
    } else {
      status("error: atoll-slirp: bad argument " + a);
      return 2;
    }
  }

  State st;
  SlirpConfig cfg{};
  cfg.version = 1;
  cfg.in_enabled = true;
  cfg.vnetwork = addr("10.0.2.0");
  cfg.vnetmask = addr("255.255.255.0");
  cfg.vhost = addr("10.0.2.2");
  cfg.in6_enabled = true;
  inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
  cfg.vprefix_len = 64;
  inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
  cfg.vhostname = "atoll";
  cfg.vdhcp_start = addr("10.0.2.15");
  cfg.vnameserver = addr("10.0.2.3");
  inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
  cfg.if_mtu = 1500;
  cfg.if_mru = 1500;
  static const SlirpCb callbacks = {
      .send_packet = send_packet,
      .guest_error = guest_error,
      .clock_get_ns = clock_get_ns,
      .timer_new = timer_new,
      .timer_free = timer_free,
      .timer_mod = timer_mod,
      .register_poll_fd = register_poll_fd,
      .unregister_poll_fd = unregister_poll_fd,
      .notify = notify,
  };
  st.slirp = slirp_new(&cfg, &callbacks, &st);
  if (!st.slirp) {
    status("error: libslirp could not start");
    return 1;
  }
  for (const auto& fwd : forwards) {
    in_addr host{fwd.host_addr}, guest{fwd.guest_addr};
    if (slirp_add_hostfwd(st.slirp, fwd.udp, host, fwd.host_port, guest, fwd.guest_port) < 0) {
      status("error: cannot forward host port " + atl::hv::format_hostfwd(fwd) + ": " + strerror(errno) +
             " (is the port in use?)");
      return 1;
    }
  }
  widen_listen_backlogs();
  status("ok");

  std::vector<uint8_t> frame(65536);
  for (;;) {
    st.fds.clear();
    st.fds.push_back(pollfd{kLink, POLLIN, 0});
    uint32_t timeout = UINT32_MAX;
    slirp_pollfds_fill(st.slirp, &timeout, add_poll, &st);
    timeout = next_timer_ms(st, timeout);
    int n = poll(st.fds.data(), st.fds.size(), timeout == UINT32_MAX ? -1 : static_cast<int>(timeout));
    if (n < 0 && errno != EINTR) return 1;
    if (n > 0 && (st.fds[0].revents & POLLIN)) {
      for (int i = 0; i < 64; ++i) {
        ssize_t len = recv(kLink, frame.data(), frame.size(), MSG_DONTWAIT);
        if (len == 0) return 0;  // the hypervisor went away
        if (len < 0) break;
        slirp_input(st.slirp, frame.data(), static_cast<int>(len));
      }
    } else if (n > 0 && (st.fds[0].revents & (POLLHUP | POLLERR))) {
      return 0;
    }
    slirp_pollfds_poll(st.slirp, n < 0, get_revents, &st);
    run_timers(st);
  }
}
