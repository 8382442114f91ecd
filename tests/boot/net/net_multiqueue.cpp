// netfront's queues: the vif connects with two (netback offers up to four,
// netfront takes at most two), and enough TCP flows to the host spread over
// both, in each direction. mq_test.py runs an echo server on the host, reached
// through slirp's 10.0.2.2, and passes its port.
//
//   net_multiqueue PORT
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atoll/net.h"
#include "check.h"
#include "netfront.h"

using namespace atl;

namespace {

constexpr int kFlows = 16;

// One connection: a line out, the same line back.
bool echo_once(uint16_t port, int n) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, "10.0.2.2", &sa.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char msg[32], got[32];
  int len = snprintf(msg, sizeof msg, "flow %d\n", n);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 && send(fd, msg, len, 0) == len;
  int have = 0;
  while (ok && have < len) {
    ssize_t k = recv(fd, got + have, sizeof got - have, 0);
    if (k <= 0) ok = false;
    else have += static_cast<int>(k);
  }
  close(fd);
  return ok && memcmp(got, msg, len) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CHECK(argc == 2, "usage: net_multiqueue PORT");
  if (argc != 2) return check_result("net_multiqueue");
  uint16_t port = static_cast<uint16_t>(atoi(argv[1]));
  CHECK(net::ensure_up().ok(), "network up");
  net::NetFront* front = net::device(0);
  CHECK(front && front->connected(), "netfront connected");
  if (!front) return check_result("net_multiqueue");
  CHECK(front->queue_count() == 2, "%u queues negotiated", front->queue_count());
  int echoed = 0;
  for (int i = 0; i < kFlows; ++i) echoed += echo_once(port, i);
  CHECK(echoed == kFlows, "%d of %d flows echoed", echoed, kFlows);
  for (unsigned q = 0; q < front->queue_count(); ++q) {
    const net::NetCounters& c = front->queue_counters(q);
    printf("queue %u: tx %llu rx %llu packets\n", q, static_cast<unsigned long long>(c.tx_packets),
           static_cast<unsigned long long>(c.rx_packets));
    CHECK(c.tx_packets > 0 && c.rx_packets > 0, "queue %u carried packets both ways", q);
  }
  return check_result("net_multiqueue");
}
