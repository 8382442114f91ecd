// A small HTTP appliance of your own, in C++ over BSD sockets: every GET gets
// a line of text naming the path it asked for. Nothing in it is Atoll-specific
// (it builds unchanged on Linux); linking atoll-guest-net gives it a network.
// Build it with meson (meson.build) or make (Makefile); see docs/sdk.md.
//
//   server [PORT]      (default 80)
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <string_view>

namespace {

int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<unsigned short>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(fd, 16) < 0) return -1;
  return fd;
}

// The path of "GET /path HTTP/1.1", or empty when the request is not a GET.
std::string_view get_path(std::string_view request) {
  if (request.substr(0, 4) != "GET ") return {};
  request.remove_prefix(4);
  return request.substr(0, request.find(' '));
}

void serve(int client, unsigned long count) {
  char buf[2048];
  ssize_t n = read(client, buf, sizeof buf);
  if (n <= 0) return;
  std::string_view path = get_path(std::string_view(buf, static_cast<size_t>(n)));
  std::string body = path.empty() ? std::string("only GET here\n")
                                  : "Hello from an out-of-tree appliance: you asked for " + std::string(path) +
                                        " (request " + std::to_string(count) + ")\n";
  std::string response = std::string(path.empty() ? "HTTP/1.1 405 Method Not Allowed" : "HTTP/1.1 200 OK") +
                         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\nConnection: close\r\n\r\n" + body;
  for (size_t sent = 0; sent < response.size();) {
    ssize_t w = write(client, response.data() + sent, response.size() - sent);
    if (w <= 0) return;
    sent += static_cast<size_t>(w);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 80;
  int fd = listen_on(port);
  if (fd < 0) {
    fprintf(stderr, "server: cannot listen on port %d\n", port);
    return 1;
  }
  printf("server: listening on port %d\n", port);
  fflush(stdout);
  for (unsigned long count = 1;; ++count) {
    int client = accept(fd, nullptr, nullptr);
    if (client < 0) continue;
    serve(client, count);
    close(client);
  }
}
