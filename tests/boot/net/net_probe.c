/* A small network client appliance for tests, plain POSIX:
 *   net_probe tcp ADDR PORT   connect, send a line, expect it echoed (and UDP too)
 *   net_probe dns NAME        resolve NAME with getaddrinfo and print the addresses
 * Prints "net_probe: PASSED" and exits 0 when everything held. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char* what) {
  printf("net_probe: FAILED: %s (errno %d)\n", what, errno);
  return 1;
}

static int echo_check(int type, const char* addr, int port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) return fail("bad address");
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return fail("socket");
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const char* kind = type == SOCK_STREAM ? "tcp" : "udp";
  /* ARP across a switch may need a moment: retry the connect a few times. */
  int tries = 0;
  while (connect(fd, (struct sockaddr*)&sa, sizeof sa) < 0) {
    if (++tries == 20) return fail("connect");
    close(fd);
    fd = socket(AF_INET, type, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    usleep(100000);
  }
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

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "tcp") == 0) {
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
    printf("usage: net_probe tcp ADDR PORT | dns NAME\n");
    return 2;
  }
  printf("net_probe: PASSED\n");
  return 0;
}
