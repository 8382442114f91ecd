/* echo: a TCP and UDP echo server (RFC 862) written against plain POSIX, with
 * nothing Atoll-specific: it builds and runs unchanged on Linux. One poll()
 * loop serves the UDP socket, the TCP listener and every TCP connection.
 *
 *   echo [PORT]      (default 7)
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 256

static int listen_on(int type, int port) {
  int fd = socket(AF_INET, type, 0);
  if (fd < 0) return -1;
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((unsigned short)port);
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, (struct sockaddr*)&addr, sizeof addr) < 0) return -1;
  if (type == SOCK_STREAM && listen(fd, 64) < 0) return -1;
  return fd;
}

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7;
  if (port <= 0 || port > 65535) {
    fprintf(stderr, "usage: echo [PORT]\n");
    return 2;
  }
  int tcp = listen_on(SOCK_STREAM, port), udp = listen_on(SOCK_DGRAM, port);
  if (tcp < 0 || udp < 0) {
    fprintf(stderr, "echo: cannot listen on port %d: %s\n", port, strerror(errno));
    return 1;
  }
  printf("echo: TCP and UDP port %d\n", port);
  fflush(stdout);

  struct pollfd fds[2 + MAX_CLIENTS];
  int nfds = 2;
  fds[0].fd = tcp;
  fds[1].fd = udp;
  fds[0].events = fds[1].events = POLLIN;
  char buf[16384];
  for (;;) {
    if (poll(fds, (nfds_t)nfds, -1) < 0) continue;
    if (fds[0].revents & POLLIN) {
      int c = accept(tcp, NULL, NULL);
      if (c >= 0 && nfds < 2 + MAX_CLIENTS) {
        fds[nfds].fd = c;
        fds[nfds].events = POLLIN;
        fds[nfds++].revents = 0;
      } else if (c >= 0) {
        close(c);
      }
    }
    if (fds[1].revents & POLLIN) {
      struct sockaddr_storage from;
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(udp, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
      if (n >= 0) sendto(udp, buf, (size_t)n, 0, (struct sockaddr*)&from, len);
    }
    for (int i = 2; i < nfds; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = recv(fds[i].fd, buf, sizeof buf, 0);
      ssize_t sent = 0;
      while (n > 0 && sent < n) {
        ssize_t k = send(fds[i].fd, buf + sent, (size_t)(n - sent), 0);
        if (k <= 0) break;
        sent += k;
      }
      if (n <= 0 || sent < n) {
        close(fds[i].fd);
        fds[i--] = fds[--nfds];
      }
    }
  }
}
