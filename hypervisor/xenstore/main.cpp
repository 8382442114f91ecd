// atoll-xenstored: the xenstore daemon alone, serving host tools on a Unix
// socket (no guests). For the conformance tests, benchmarks, and trying
// Debian's xenstore-* tools:
//
//   atoll-xenstored --socket /tmp/xs.sock &
//   XENSTORED_PATH=/tmp/xs.sock xenstore-ls
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "event_loop.h"
#include "xenstored.h"

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: atoll-xenstored --socket PATH\n"
               "Serves xenstore on the Unix socket PATH (mode 0600) until SIGINT or SIGTERM.\n"
               "Point Debian's xenstore-* tools at it with XENSTORED_PATH=PATH.\n");
}

// SIGINT/SIGTERM arrive through a signalfd on the loop, so the daemon stops
// between requests and removes its socket.
int stop_signals_fd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    }
    if (arg == "--socket" && i + 1 < argc) {
      socket_path = argv[++i];
    } else {
      std::fprintf(stderr, "atoll-xenstored: unexpected argument '%s'\n", arg.c_str());
      usage(stderr);
      return 2;
    }
  }
  if (socket_path.empty()) {
    usage(stderr);
    return 2;
  }
  int sig_fd = stop_signals_fd();
  if (sig_fd < 0) {
    std::perror("atoll-xenstored: signalfd");
    return 1;
  }
  atl::hv::EventLoop loop;
  atl::hv::xs::Xenstored xenstored(loop);
  std::string error;
  if (!xenstored.listen(socket_path, error)) {
    std::fprintf(stderr, "atoll-xenstored: %s\n", error.c_str());
    return 1;
  }
  loop.add_fd(sig_fd, EPOLLIN, [&](uint32_t) { loop.stop(); });
  std::printf("%s\n", socket_path.c_str());
  std::fflush(stdout);
  loop.run();
  loop.remove_fd(sig_fd);
  close(sig_fd);
  return 0;
}
