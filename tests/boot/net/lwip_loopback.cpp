// lwIP on the cooperative threads, over the loopback netif: a TCP echo server
// thread and client threads on 127.0.0.1 and ::1 through the BSD socket API
// (a lockstep exchange, then 1 MiB streamed through a half-closed connection),
// a UDP round trip, a refused connect and a receive timeout. The 1 MiB stream
// closes both receive windows at once: it pins the zero-window ACK storm fix
// (subprojects/packagefiles/lwip-zero-window-ack-storm.patch).
#include <errno.h>
#include <string.h>

#include "atoll/sched.h"
#include "check.h"
#include "socket_io.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atoll/net.h"
#include "lwip/init.h"

using namespace atl;

namespace {

constexpr uint16_t kTcpPort = 7;
constexpr uint16_t kUdpPort = 9;
constexpr size_t kBulkBytes = 1 << 20;
constexpr int kLockstepRounds = 64;

uint8_t pattern_byte(size_t i) { return static_cast<uint8_t>((i * 131 + (i >> 8)) & 0xff); }

// An IPv4 or IPv6 loopback address and port.
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family = AF_INET;
};

Endpoint loopback(int family, uint16_t port) {
  Endpoint e;
  e.family = family;
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&e.addr);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &in->sin_addr);
    e.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&e.addr);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    inet_pton(AF_INET6, "::1", &in6->sin6_addr);
    e.len = sizeof(sockaddr_in6);
  }
  return e;
}

const sockaddr* sa(const Endpoint& e) { return reinterpret_cast<const sockaddr*>(&e.addr); }



// ---- TCP echo server: accepts kConnections one at a time, echoing each until
// EOF. (It does not wait for its listening socket to be closed under it: that
// needs LWIP_NETCONN_FULLDUPLEX, which needs per-thread semaphores.)

constexpr int kConnections = 2;

struct Server {
  int listen_fd = -1;
  int connections = 0;
};

void tcp_echo_server(void* arg) {
  auto* s = static_cast<Server*>(arg);
  for (int i = 0; i < kConnections; ++i) {
    int fd = accept(s->listen_fd, nullptr, nullptr);
    if (fd < 0) return;
    ++s->connections;
    static uint8_t buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
      if (!send_all(fd, buf, static_cast<size_t>(n))) break;
    close(fd);
  }
}

int tcp_listen(const Endpoint& e) {
  int fd = socket(e.family, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, sa(e), e.len) != 0 || listen(fd, 4) != 0) return -1;
  return fd;
}

int tcp_connect(const Endpoint& e) {
  int fd = socket(e.family, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (connect(fd, sa(e), e.len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Small messages, each echoed before the next is sent.
bool lockstep(int fd) {
  char out[64], in[64];
  for (int i = 0; i < kLockstepRounds; ++i) {
    int n = snprintf(out, sizeof out, "message %d over lwIP tcp", i);
    if (!send_all(fd, reinterpret_cast<uint8_t*>(out), size_t(n))) return false;
    if (!recv_all(fd, reinterpret_cast<uint8_t*>(in), size_t(n))) return false;
    if (memcmp(in, out, size_t(n)) != 0) return false;
  }
  return true;
}

// A writer thread streams kBulkBytes and half-closes; the caller reads the echo
// to EOF. Sending and receiving from different threads is what keeps a stream
// larger than both windows from deadlocking.
struct Bulk {
  int fd;
  bool sent_ok = false;
};

void bulk_writer(void* arg) {
  auto* b = static_cast<Bulk*>(arg);
  static uint8_t chunk[16384];
  bool ok = true;
  for (size_t off = 0; ok && off < kBulkBytes; off += sizeof chunk) {
    for (size_t i = 0; i < sizeof chunk; ++i) chunk[i] = pattern_byte(off + i);
    ok = send_all(b->fd, chunk, sizeof chunk);
  }
  b->sent_ok = ok && shutdown(b->fd, SHUT_WR) == 0;
}

size_t bulk_read_verified(int fd, bool* intact) {
  static uint8_t buf[8192];
  size_t total = 0;
  *intact = true;
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
    for (ssize_t i = 0; i < n; ++i)
      if (buf[i] != pattern_byte(total + size_t(i))) *intact = false;
    total += size_t(n);
  }
  return total;
}

void tcp_echo_checks(int family, const char* label) {
  Endpoint e = loopback(family, kTcpPort);
  Server server;
  server.listen_fd = tcp_listen(e);
  CHECK(server.listen_fd >= 3, "%s: listening socket fd=%d (>= %d)", label, server.listen_fd, 3);
  sched::Thread* st = sched::create("echo-server", tcp_echo_server, &server);

  int fd = tcp_connect(e);
  CHECK(fd >= 3, "%s: client connected fd=%d", label, fd);
  CHECK(lockstep(fd), "%s: %d lockstep messages echoed", label, kLockstepRounds);
  close(fd);

  fd = tcp_connect(e);
  Bulk bulk{fd};
  sched::Thread* wt = sched::create("bulk-writer", bulk_writer, &bulk);
  bool intact = false;
  size_t got = bulk_read_verified(fd, &intact);
  sched::join(wt);
  close(fd);
  CHECK(bulk.sent_ok, "%s: writer sent %zu bytes and shut down", label, kBulkBytes);
  CHECK(got == kBulkBytes && intact, "%s: echo of the stream: %zu bytes, intact=%d", label, got, intact);

  sched::join(st);
  close(server.listen_fd);
  CHECK(server.connections == kConnections, "%s: server served %d connections", label, server.connections);
}

// ---- UDP: an echo thread answers datagrams until it gets "quit".

void udp_echo_server(void* arg) {
  int fd = *static_cast<int*>(arg);
  char buf[512];
  for (;;) {
    sockaddr_storage from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;
    sendto(fd, buf, size_t(n), 0, reinterpret_cast<sockaddr*>(&from), from_len);
    if (n == 4 && memcmp(buf, "quit", 4) == 0) return;
  }
}

void udp_checks() {
  Endpoint e = loopback(AF_INET, kUdpPort);
  int server_fd = socket(AF_INET, SOCK_DGRAM, 0);
  CHECK(bind(server_fd, sa(e), e.len) == 0, "udp: bound 127.0.0.1:%u", kUdpPort);
  sched::Thread* st = sched::create("udp-echo", udp_echo_server, &server_fd);

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int good = 0;
  for (int i = 0; i < 16; ++i) {
    char out[64], in[64];
    int n = snprintf(out, sizeof out, "datagram %d", i);
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    sendto(fd, out, size_t(n), 0, sa(e), e.len);
    ssize_t k = recvfrom(fd, in, sizeof in, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (k == n && memcmp(in, out, size_t(n)) == 0 && from.sin_port == htons(kUdpPort)) ++good;
  }
  CHECK(good == 16, "udp: %d/16 datagrams echoed from port %u", good, kUdpPort);
  sendto(fd, "quit", 4, 0, sa(e), e.len);
  char quit[4];
  recv(fd, quit, sizeof quit, 0);
  sched::join(st);

  // Nobody answers now: the receive times out with EAGAIN/EWOULDBLOCK.
  tv = {0, 200000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char c;
  errno = 0;
  ssize_t k = recv(fd, &c, 1, 0);
  CHECK(k < 0 && (errno == EWOULDBLOCK || errno == EAGAIN), "udp: recv timed out (k=%d errno=%d)", int(k),
        errno);
  close(fd);
  close(server_fd);
}

void refused_check() {
  Endpoint e = loopback(AF_INET, 4242);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  errno = 0;
  int r = connect(fd, sa(e), e.len);
  // lwIP says ECONNRESET; the POSIX layer answers what POSIX and Linux do.
  CHECK(r < 0 && errno == ECONNREFUSED, "tcp: connect to a closed port fails, errno=%d (ECONNREFUSED)", errno);
  close(fd);
}


}  // namespace

int main() {
  // Through the POSIX layer: the first socket() would bring the stack up too.
  CHECK(net::ensure_up().ok(), "network stack up");
  printf("lwIP %s: tcpip thread up\n", LWIP_VERSION_STRING);

  tcp_echo_checks(AF_INET, "tcp4");
  tcp_echo_checks(AF_INET6, "tcp6");
  udp_checks();
  refused_check();
  return check_result("lwip_loopback");
}
