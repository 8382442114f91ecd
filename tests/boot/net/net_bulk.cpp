// Large TCP transfers through netfront's offloads: the guest connects to an
// echo server on the host, streams a pseudo-random pattern to it while reading
// the echo back, and checks every byte. With --offloads (a TAP uplink with a
// vnet header) the backend must offer TSO, the guest's segments must have gone
// out as GSO frames and the host kernel's come in coalesced; with --tso (passt,
// which takes large frames but sends the wire's) only the first two; without,
// the backend must not offer TSO (slirp: it measured slower there).
// bulk_test.py runs the server and the uplinks.
//
//   net_bulk HOST PORT MIB [--offloads | --tso]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atoll/net.h"
#include "atoll/time.h"
#include "check.h"
#include "netfront.h"

using namespace atl;

namespace {

// The byte at stream offset i (xorshift over 8-byte blocks).
uint8_t pattern(uint64_t i) {
  uint64_t x = (i / 8) * 0x9e3779b97f4a7c15ull + 1;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return static_cast<uint8_t>(x >> ((i % 8) * 8));
}

}  // namespace

int main(int argc, char** argv) {
  CHECK(argc >= 4, "usage: net_bulk HOST PORT MIB [--offloads | --tso]");
  if (argc < 4) return check_result("net_bulk");
  bool offloads = argc > 4 && strcmp(argv[4], "--offloads") == 0;
  bool tso_out = offloads || (argc > 4 && strcmp(argv[4], "--tso") == 0);
  uint64_t total = strtoull(argv[3], nullptr, 10) << 20;
  CHECK(net::ensure_up().ok(), "network up");
  net::NetFront* front = net::device(0);
  CHECK(front && front->connected(), "netfront connected");
  if (!front) return check_result("net_bulk");
  printf("offloads: sg %d tso4 %d tso6 %d ipv6-csum %d\n", front->offloads().sg, front->offloads().tso4,
         front->offloads().tso6, front->offloads().ipv6_csum);

  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(atoi(argv[2])));
  inet_pton(AF_INET, argv[1], &sa.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK(fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0, "connected to %s:%s", argv[1],
        argv[2]);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  static uint8_t out[65536], in[65536];
  uint64_t sent = 0, received = 0, mismatch = ~0ull;
  uint64_t t0 = time::monotonic_ns();
  while (received < total && time::monotonic_ns() - t0 < 40'000'000'000ull) {
    pollfd p{fd, static_cast<short>(POLLIN | (sent < total ? POLLOUT : 0)), 0};
    if (poll(&p, 1, 5000) <= 0) break;
    if (p.revents & POLLOUT) {
      size_t n = total - sent < sizeof out ? total - sent : sizeof out;
      for (size_t i = 0; i < n; ++i) out[i] = pattern(sent + i);
      ssize_t k = send(fd, out, n, 0);
      if (k > 0) sent += static_cast<uint64_t>(k);
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t k = recv(fd, in, sizeof in, 0);
      if (k <= 0) break;
      for (ssize_t i = 0; i < k && mismatch == ~0ull; ++i)
        if (in[i] != pattern(received + static_cast<uint64_t>(i))) mismatch = received + static_cast<uint64_t>(i);
      received += static_cast<uint64_t>(k);
    }
  }
  uint64_t ns = time::monotonic_ns() - t0;
  close(fd);
  CHECK(sent == total && received == total, "%llu of %llu bytes sent, %llu echoed back",
        static_cast<unsigned long long>(sent), static_cast<unsigned long long>(total),
        static_cast<unsigned long long>(received));
  CHECK(mismatch == ~0ull, "every byte echoed intact (first difference at %lld)", static_cast<long long>(mismatch));
  printf("throughput: %.1f MB/s each way\n", ns ? static_cast<double>(total) * 1e3 / static_cast<double>(ns) : 0.0);
  const net::NetCounters& c = front->counters();
  printf("netfront: tx %llu packets (%llu gso), rx %llu packets (%llu gso), %llu tx errors, %llu rx errors\n",
         static_cast<unsigned long long>(c.tx_packets), static_cast<unsigned long long>(c.tx_gso),
         static_cast<unsigned long long>(c.rx_packets), static_cast<unsigned long long>(c.rx_gso),
         static_cast<unsigned long long>(c.tx_errors), static_cast<unsigned long long>(c.rx_errors));
  if (tso_out) {
    CHECK(front->offloads().tso4, "the backend takes TSO for IPv4");
    CHECK(c.tx_gso > 0, "segments went out as GSO frames");
    if (offloads) CHECK(c.rx_gso > 0, "the host's segments came in coalesced (GSO)");
  } else {
    CHECK(!front->offloads().tso4 && c.tx_gso == 0 && c.rx_gso == 0, "no TSO offered, none used");
  }
  return check_result("net_bulk");
}
