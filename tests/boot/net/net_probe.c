/* A small network client appliance for tests, plain POSIX:
 *   net_probe tcp ADDR PORT   connect, send a line, expect it echoed (and UDP too)
 *   net_probe dns NAME        resolve NAME with getaddrinfo and print the addresses
 *   net_probe http ADDR PORT PATH LENGTH FNV [hold | times N]
 *                             GET PATH; the reply must be 200 with a body of
 *                             LENGTH bytes whose FNV-1a 32 hash is FNV (hex);
 *                             hold: then stay up (sleep) until destroyed;
 *                             times N: N such GETs, each on a new connection
 *   net_probe sweep FIRST COUNT PORT PATH LENGTH FNV
 *                             the http check against COUNT addresses from FIRST
 *                             up, one after the other; prints each failure and
 *                             "net_probe: sweep N of COUNT answered"
 *   net_probe load FIRST COUNT PORT PATH LENGTH FNV SECONDS
 *                             a load on COUNT addresses from FIRST up, one after
 *                             the other: SECONDS of GETs each, one at a time,
 *                             each on a new connection and checked as http does
 *                             (ab -c 1 without keep-alive); a line an address:
 *                             "net_probe: load ADDR requests N failed F
 *                             seconds S p50_us P p99_us Q"
 * Prints "net_probe: PASSED" and exits 0 when everything held. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fail(const char* what) {
  printf("net_probe: FAILED: %s (errno %d)\n", what, errno);
  return 1;
}

/* A socket connected to ADDR:PORT, or -1 (after saying why). ARP across a
 * switch may need a moment: the connect is tried a few times. */
static int connect_to(int type, const char* addr, int port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) return fail("bad address"), -1;
  struct timeval tv = {5, 0};
  for (int tries = 0; tries < 20; ++tries) {
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) return fail("socket"), -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr*)&sa, sizeof sa) == 0) return fd;
    close(fd);
    usleep(100000);
  }
  return fail("connect"), -1;
}

static int echo_check(int type, const char* addr, int port) {
  const char* kind = type == SOCK_STREAM ? "tcp" : "udp";
  int fd = connect_to(type, addr, port);
  if (fd < 0) return 1;
  char msg[64], got[64];
  snprintf(msg, sizeof msg, "hello over %s", kind);
  if (send(fd, msg, strlen(msg), 0) != (ssize_t)strlen(msg)) return fail("send");
  size_t have = 0;
  while (have < strlen(msg)) {
    ssize_t n = recv(fd, got + have, sizeof got - have, 0);
    if (n <= 0) return fail("recv");
    have += (size_t)n;
  }
  close(fd);
  if (have != strlen(msg) || memcmp(got, msg, have) != 0) return fail("echo differs");
  printf("ok: %s echo from %s:%d\n", kind, addr, port);
  return 0;
}

static uint32_t fnv1a(const unsigned char* p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

static int http_check(const char* addr, int port, const char* path, size_t want_len, uint32_t want_hash, int quiet) {
  int fd = connect_to(SOCK_STREAM, addr, port);
  if (fd < 0) return 1;
  char req[512];
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, addr);
  size_t cap = 1 << 20, have = 0;
  char* reply = malloc(cap);
  const char* why = NULL;
  if (!reply) why = "malloc";
  else if (send(fd, req, (size_t)n, 0) != n) why = "send";
  while (!why) {
    ssize_t got = recv(fd, reply + have, cap - have, 0);
    if (got < 0) why = "recv";
    else if (got == 0) break;
    else if ((have += (size_t)got) == cap) why = "reply larger than 1 MiB";
  }
  close(fd);
  const char* body = NULL;
  if (!why && (have < 12 || memcmp(reply, "HTTP/1.", 7) != 0 || memcmp(reply + 9, "200", 3) != 0)) why = "not a 200 reply";
  for (size_t i = 0; !why && !body && i + 4 <= have; ++i)
    if (memcmp(reply + i, "\r\n\r\n", 4) == 0) body = reply + i + 4;
  if (!why && !body) why = "no end of head";
  if (why) {
    free(reply);
    return fail(why);
  }
  size_t len = have - (size_t)(body - reply);
  uint32_t hash = fnv1a((const unsigned char*)body, len);
  if (!quiet) printf("ok: http GET %s from %s:%d: %zu bytes, fnv1a %08x\n", path, addr, port, len, (unsigned)hash);
  free(reply);
  if (len != want_len || hash != want_hash) return fail("the body differs");
  return 0;
}

/* The http check against COUNT consecutive IPv4 addresses from FIRST. */
static int sweep(const char* first, unsigned long count, int port, const char* path, size_t want_len, uint32_t want_hash) {
  struct in_addr base;
  if (inet_pton(AF_INET, first, &base) != 1) return fail("bad address");
  unsigned long answered = 0;
  for (unsigned long i = 0; i < count; ++i) {
    struct in_addr a = {htonl(ntohl(base.s_addr) + (uint32_t)i)};
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, addr, sizeof addr);
    if (http_check(addr, port, path, want_len, want_hash, 1) == 0) ++answered;
    else printf("net_probe: no good answer from %s\n", addr);
  }
  printf("net_probe: sweep %lu of %lu answered\n", answered, count);
  return answered == count ? 0 : 1;
}

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int by_value(const void* a, const void* b) {
  uint32_t x = *(const uint32_t*)a, y = *(const uint32_t*)b;
  return x < y ? -1 : x > y;
}

/* SECONDS of checked GETs on each of COUNT addresses from FIRST, in turn. */
static int load(const char* first, unsigned long count, int port, const char* path, size_t want_len, uint32_t want_hash,
                unsigned long seconds) {
  struct in_addr base;
  if (inet_pton(AF_INET, first, &base) != 1) return fail("bad address");
  enum { kMaxSamples = 1 << 18 };
  uint32_t* lat = malloc(kMaxSamples * sizeof *lat);
  if (!lat) return fail("malloc");
  unsigned long failed_total = 0;
  for (unsigned long i = 0; i < count; ++i) {
    struct in_addr a = {htonl(ntohl(base.s_addr) + (uint32_t)i)};
    char addr[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a, addr, sizeof addr);
    unsigned long n = 0, failed = 0;
    uint64_t start = now_us(), end = start + seconds * 1000000u, t;
    while ((t = now_us()) < end) {
      if (http_check(addr, port, path, want_len, want_hash, 1) != 0) {
        ++failed;
        continue;
      }
      if (n < kMaxSamples) lat[n] = (uint32_t)(now_us() - t);
      ++n;
    }
    double took = (double)(now_us() - start) / 1e6;
    unsigned long kept = n < kMaxSamples ? n : kMaxSamples;
    qsort(lat, kept, sizeof *lat, by_value);
    printf("net_probe: load %s requests %lu failed %lu seconds %.3f p50_us %u p99_us %u\n", addr, n, failed, took,
           kept ? lat[kept / 2] : 0u, kept ? lat[kept * 99 / 100] : 0u);
    fflush(stdout);
    failed_total += failed;
  }
  free(lat);
  return failed_total ? 1 : 0;
}

int main(int argc, char** argv) {
  if ((argc == 7 || argc == 8 || argc == 9) && strcmp(argv[1], "http") == 0) {
    unsigned long times = argc == 9 && strcmp(argv[7], "times") == 0 ? strtoul(argv[8], NULL, 10) : 1;
    for (unsigned long i = 0; i < times; ++i)
      if (http_check(argv[2], atoi(argv[3]), argv[4], strtoul(argv[5], NULL, 10), (uint32_t)strtoul(argv[6], NULL, 16), 0))
        return 1;
    if (times > 1) printf("net_probe: %lu GETs answered\n", times);
    if (argc == 8 && strcmp(argv[7], "hold") == 0) {
      printf("net_probe: PASSED\n");
      fflush(stdout);
      for (;;) sleep(3600);
    }
  } else if (argc == 8 && strcmp(argv[1], "sweep") == 0) {
    if (sweep(argv[2], strtoul(argv[3], NULL, 10), atoi(argv[4]), argv[5], strtoul(argv[6], NULL, 10),
              (uint32_t)strtoul(argv[7], NULL, 16)))
      return 1;
  } else if (argc == 9 && strcmp(argv[1], "load") == 0) {
    if (load(argv[2], strtoul(argv[3], NULL, 10), atoi(argv[4]), argv[5], strtoul(argv[6], NULL, 10),
             (uint32_t)strtoul(argv[7], NULL, 16), strtoul(argv[8], NULL, 10)))
      return 1;
  } else if (argc == 4 && strcmp(argv[1], "tcp") == 0) {
    int port = atoi(argv[3]);
    if (echo_check(SOCK_STREAM, argv[2], port) || echo_check(SOCK_DGRAM, argv[2], port)) return 1;
  } else if (argc == 3 && strcmp(argv[1], "dns") == 0) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(argv[2], "80", &hints, &res);
    if (rc != 0) {
      printf("net_probe: FAILED: getaddrinfo(%s): %s\n", argv[2], gai_strerror(rc));
      return 1;
    }
    for (struct addrinfo* ai = res; ai; ai = ai->ai_next) {
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &((struct sockaddr_in*)ai->ai_addr)->sin_addr, buf, sizeof buf);
      printf("ok: %s has address %s\n", argv[2], buf);
    }
    freeaddrinfo(res);
  } else {
    printf("usage: net_probe tcp ADDR PORT | dns NAME | http ADDR PORT PATH LENGTH FNV [hold | times N]\n"
           "       net_probe sweep FIRST COUNT PORT PATH LENGTH FNV\n");
    return 2;
  }
  printf("net_probe: PASSED\n");
  return 0;
}
