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

#include "slirp_glue.h"
#include "vif_config.h"

namespace {

constexpr int kLink = 3;

struct State {
  Slirp* slirp = nullptr;
  std::vector<pollfd> fds;
  atl::slirp::TimerList timers;
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
  return static_cast<State*>(opaque)->timers.create(cb, cb_opaque);
}

void timer_free(void* timer, void* opaque) {
  static_cast<State*>(opaque)->timers.destroy(static_cast<atl::slirp::TimerList::Timer*>(timer));
}

void timer_mod(void* timer, int64_t expire_ms, void*) {
  atl::slirp::TimerList::arm(static_cast<atl::slirp::TimerList::Timer*>(timer), expire_ms);
}
void register_poll_fd(int, void*) {}
void unregister_poll_fd(int, void*) {}
void notify(void*) {}

int add_poll(int fd, int events, void* opaque) {
  auto& fds = static_cast<State*>(opaque)->fds;
  fds.push_back(pollfd{fd, atl::slirp::to_poll_events(events), 0});
  return static_cast<int>(fds.size() - 1);
}

int get_revents(int idx, void* opaque) {
  return atl::slirp::to_slirp_events(static_cast<State*>(opaque)->fds[static_cast<size_t>(idx)].revents);
}

void status(const std::string& text) { send(kLink, text.data(), text.size(), 0); }

in_addr addr(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a;
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
    timeout = st.timers.next_timeout(now_ns() / 1000000, timeout);
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
    st.timers.run_due(now_ns() / 1000000);
  }
}
