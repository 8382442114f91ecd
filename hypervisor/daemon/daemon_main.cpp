#include "daemon_main.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "daemon_server.h"
#include "event_loop.h"
#include "fleet.h"
#include "socket_path.h"
#include "stop_signals.h"

namespace atl::hv::fleet {

int run_daemon(const std::string& socket_path, bool named_by_user) {
  constexpr int kExitError = 125;
  std::string error;
  if (!prepare_socket_dir(socket_path, named_by_user, error)) {
    fprintf(stderr, "atoll daemon: %s\n", error.c_str());
    return kExitError;
  }
  int signal_fd = take_stop_signals();
  signal(SIGPIPE, SIG_IGN);

  EventLoop loop;
  Fleet fleet(loop);
  const std::string xenstore_path = socket_path + ".xenstored";
  auto server = DaemonServer::try_create(loop, fleet, socket_path, xenstore_path);
  if (!server.ok()) {
    fprintf(stderr, "atoll daemon: %s\n", server.error().message.c_str());
    return kExitError;
  }
  unlink(xenstore_path.c_str());  // the daemon's own, left by one that was killed
  if (!fleet.store().listen(xenstore_path, error)) {
    fprintf(stderr, "atoll daemon: cannot serve xenstore on %s: %s\n", xenstore_path.c_str(), error.c_str());
    return kExitError;
  }
  int stop_signal = 0;
  loop.add_fd(signal_fd, EPOLLIN, [&](uint32_t) {
    signalfd_siginfo si;
    if (read(signal_fd, &si, sizeof si) == sizeof si) stop_signal = static_cast<int>(si.ssi_signo);
  });
  fprintf(stderr, "atoll daemon: pid %d listening on %s; xenstore for host tools: XENSTORED_PATH=%s\n", getpid(),
          socket_path.c_str(), xenstore_path.c_str());
  while (!stop_signal) {
    loop.run_once();
    fleet.reap();
  }
  fprintf(stderr, "atoll daemon: stopped by %s; destroying %zu domain(s)\n", strsignal(stop_signal), fleet.domains().size());
  fleet.destroy_all(std::string("the daemon was stopped by ") + strsignal(stop_signal));
  loop.remove_fd(signal_fd);
  close(signal_fd);
  server.value().reset();
  unlink(xenstore_path.c_str());
  return 0;
}

}  // namespace atl::hv::fleet
