// The vif closed and reopened under a live TCP connection. A TCP echo server
// thread serves port 7 (one connection at a time); once it has echoed
// kCloseAfter bytes (the host sends exactly that much, then waits for the
// "vif closed" line and sends the rest into the gap) the main thread closes the
// vif with NetFront::close(), keeps it down for kGapNs and reopens it. lwIP is
// not told: for it the gap is loss, so the connection must come through on
// TCP retransmission on both sides, and new connections must work after.
// reconnect_test.py drives it from the host and checks every byte; its last
// connection is an empty one, so that no echo is still in lwIP's send buffer
// when the guest exits (a unikernel's TCP stack ends with it).
//
//   net_reconnect [CONNECTIONS]   exit after serving this many (default 3)
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atoll/net.h"
#include "atoll/sched.h"
#include "atoll/time.h"
#include "check.h"
#include "socket_io.h"
#include "netfront.h"

using namespace atl;

namespace {

constexpr uint16_t kPort = 7;
constexpr uint64_t kCloseAfter = 256 * 1024;
constexpr uint64_t kGapNs = 1'000'000'000ULL;
constexpr uint64_t kStepNs = 5'000'000'000ULL;
constexpr uint64_t kServeNs = 40'000'000'000ULL;

struct Server {
  int listener = -1;
  uint64_t echoed = 0;  // bytes echoed on all connections
  unsigned served = 0;  // connections that ended in an orderly EOF
  unsigned failed = 0;  // connections that ended in an error
  sched::WaitQueue progress;
};


void echo_server(void* arg) {
  auto* s = static_cast<Server*>(arg);
  static char buf[16384];
  for (;;) {
    int c = accept(s->listener, nullptr, nullptr);
    if (c < 0) continue;
    bool ok = true;
    for (;;) {
      ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) {
        ok = n == 0;
        break;
      }
      if (!send_all(c, buf, static_cast<size_t>(n))) {
        ok = false;
        break;
      }
      s->echoed += static_cast<uint64_t>(n);
      s->progress.wake_all();
    }
    close(c);
    ++(ok ? s->served : s->failed);
    printf("net_reconnect: connection %u ended %s, %llu bytes echoed in all\n", s->served + s->failed,
           ok ? "cleanly" : "in an error", static_cast<unsigned long long>(s->echoed));
    fflush(stdout);
    s->progress.wake_all();
  }
}

int listen_on(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(fd, 4) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

uint64_t after(uint64_t ns) { return time::monotonic_ns() + ns; }

}  // namespace

int main(int argc, char** argv) {
  unsigned connections = argc > 1 ? static_cast<unsigned>(atoi(argv[1])) : 3;
  CHECK(net::ensure_up().ok(), "network up");
  net::InterfaceInfo info{};
  CHECK(net::interface_info(0, info) && info.address != 0, "the vif has an address");
  net::NetFront* front = net::device(0);
  CHECK(front && front->connected(), "netfront connected");
  static Server server;
  server.listener = listen_on(kPort);
  CHECK(server.listener >= 0, "listening on TCP port %u", kPort);
  if (!front || server.listener < 0) return check_result("net_reconnect");
  sched::create("echo-server", echo_server, &server);
  printf("net_reconnect: listening on %u\n", kPort);
  fflush(stdout);

  bool mid = sched::wait_until(server.progress, [] { return server.echoed >= kCloseAfter; }, after(kServeNs));
  CHECK(mid, "%llu bytes echoed before the close", static_cast<unsigned long long>(server.echoed));
  if (!mid) return check_result("net_reconnect");
  uint64_t t0 = time::monotonic_ns();
  auto closed = front->close(after(kStepNs));
  CHECK(closed.ok() && !front->connected(), "the vif closed (%llu ms)",
        static_cast<unsigned long long>((time::monotonic_ns() - t0) / 1'000'000));
  printf("net_reconnect: vif closed\n");
  fflush(stdout);
  uint64_t echoed_at_close = server.echoed;
  sched::sleep_ns(kGapNs);
  // The host sends the rest only once it has read "vif closed": nothing of it
  // may reach the echo server while the vif is down.
  CHECK(server.echoed == echoed_at_close, "nothing got through while the vif was closed (%llu bytes echoed)",
        static_cast<unsigned long long>(server.echoed - echoed_at_close));
  t0 = time::monotonic_ns();
  auto reopened = front->reopen(after(kStepNs));
  CHECK(reopened.ok() && front->connected(), "the vif reopened (%llu ms)",
        static_cast<unsigned long long>((time::monotonic_ns() - t0) / 1'000'000));
  printf("net_reconnect: vif reopened\n");
  fflush(stdout);

  bool done = sched::wait_until(
      server.progress, [connections] { return server.served + server.failed >= connections; }, after(kServeNs));
  CHECK(done && server.failed == 0, "%u connections served, %u failed", server.served, server.failed);
  const net::NetCounters& c = front->counters();
  printf("net_reconnect: netfront tx %llu packets (%llu errors), rx %llu packets (%llu errors)\n",
         static_cast<unsigned long long>(c.tx_packets), static_cast<unsigned long long>(c.tx_errors),
         static_cast<unsigned long long>(c.rx_packets), static_cast<unsigned long long>(c.rx_errors));
  return check_result("net_reconnect");
}
