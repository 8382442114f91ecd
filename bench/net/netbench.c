/* netbench: a native client for the networking benchmarks (bench/net/run.sh),
 * run against an echo server (the echo appliance, or apps/echo built for Linux):
 *   netbench rr   HOST PORT N        N 1-byte TCP round trips: median and p99 in us
 *   netbench bulk HOST PORT MIB      MIB MiB written and read back concurrently: MB/s
 *   netbench udp  HOST PORT N        N 64-byte datagrams, 32 in flight: packets/s
 * One line of output: "<metric> <value> [<value>]". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int connect_to(const char* host, int port, int type) {
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  inet_pton(AF_INET, host, &sa.sin_addr);
  int fd = socket(AF_INET, type, 0);
  if (connect(fd, (struct sockaddr*)&sa, sizeof sa) < 0) {
    perror("netbench: connect");
    exit(1);
  }
  int one = 1;
  if (type == SOCK_STREAM) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static void rr(int fd, int n) {
  double* t = malloc(sizeof(double) * (size_t)n);
  char c = 'x';
  for (int i = 0; i < n; ++i) {
    double t0 = now_us();
    if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1) {
      fprintf(stderr, "netbench: echo failed\n");
      exit(1);
    }
    t[i] = now_us() - t0;
  }
  qsort(t, (size_t)n, sizeof(double), cmp);
  printf("rr_us %.1f %.1f\n", t[n / 2], t[n * 99 / 100]);
}

static void bulk(int fd, long mib) {
  static char buf[65536];
  long total = mib << 20, sent = 0, got = 0;
  memset(buf, 'b', sizeof buf);
  double t0 = now_us();
  while (got < total) {
    struct pollfd p = {fd, POLLIN | (sent < total ? POLLOUT : 0), 0};
    poll(&p, 1, 5000);
    if ((p.revents & POLLOUT) && sent < total) {
      long k = total - sent < (long)sizeof buf ? total - sent : (long)sizeof buf;
      ssize_t n = send(fd, buf, (size_t)k, MSG_DONTWAIT);
      if (n > 0) sent += n;
    }
    if (p.revents & POLLIN) {
      ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n == 0) break;
      if (n > 0) got += n;
    }
  }
  double secs = (now_us() - t0) / 1e6;
  printf("bulk_MBps %.1f\n", (double)got / secs / 1e6);
}

static void udp(int fd, int n) {
  char buf[64];
  memset(buf, 'u', sizeof buf);
  int inflight = 0, received = 0, sent = 0;
  double t0 = now_us();
  while (received < n) {
    while (inflight < 32 && sent < n) {
      if (send(fd, buf, sizeof buf, 0) == sizeof buf) ++inflight, ++sent;
      else break;
    }
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) {  /* a lost datagram: let another go */
      if (inflight > 0) --inflight;
      if (sent >= n) break;
      continue;
    }
    if (recv(fd, buf, sizeof buf, 0) > 0) ++received, --inflight;
  }
  double secs = (now_us() - t0) / 1e6;
  printf("udp_pps %.0f %d\n", received / secs, n - received);
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: netbench rr|bulk|udp HOST PORT N\n");
    return 2;
  }
  int port = atoi(argv[3]);
  long n = atol(argv[4]);
  if (!strcmp(argv[1], "rr")) rr(connect_to(argv[2], port, SOCK_STREAM), (int)n);
  else if (!strcmp(argv[1], "bulk")) bulk(connect_to(argv[2], port, SOCK_STREAM), n);
  else if (!strcmp(argv[1], "udp")) udp(connect_to(argv[2], port, SOCK_DGRAM), (int)n);
  else return 2;
  return 0;
}
