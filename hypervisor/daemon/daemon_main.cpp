#include "daemon_main.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "daemon_server.h"
#include "image_file.h"
#include "event_loop.h"
#include "fleet.h"
#include "socket_path.h"
#include "stop_signals.h"

namespace atl::hv::fleet {

namespace {

// Every domain holds a descriptor here (its seccomp listener), so the usual
// soft limit of 1,024 would cap a fleet near 750 domains. Take all we may: the kernel's ceiling (fs.nr_open) when we are
// privileged to raise the hard limit, else the hard limit. Nothing here uses
// select(), and guests inherit no descriptors whatever the limit.
void raise_fd_limit() {
  rlimit now{};
  getrlimit(RLIMIT_NOFILE, &now);
  rlim_t ceiling = 0;
  std::ifstream("/proc/sys/fs/nr_open") >> ceiling;
  rlimit wanted{ceiling, ceiling};
  if (ceiling <= now.rlim_max || setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
    wanted = {now.rlim_max, now.rlim_max};
    setrlimit(RLIMIT_NOFILE, &wanted);
  }
  getrlimit(RLIMIT_NOFILE, &now);
  fprintf(stderr, "atoll daemon: open files: up to %llu (RLIMIT_NOFILE)\n", static_cast<unsigned long long>(now.rlim_cur));
}

// Who holds a domain to its cpu_cap: atoll's own throttle (cpu_cap.h) in
// every case today; the note says whether the kernel's cgroup v2 could.
std::string limits_note() {
  std::ifstream f("/sys/fs/cgroup/cgroup.controllers");
  std::string controllers;
  if (f && std::getline(f, controllers) && !controllers.empty())
    return "cgroup v2 offers [" + controllers + "], not used yet: cpu_cap is held by atoll's own throttle";
  return "no cgroup v2 controllers on this host (cgroup v1 is mounted): cpu_cap is held by atoll's own throttle";
}

}  // namespace

int run_daemon(const std::string& socket_path, bool named_by_user, const std::string& trusted_keys,
               unsigned sandbox_pool) {
  constexpr int kExitError = 125;
  std::string error;
  std::string keys_dir;
  if (!trusted_keys.empty()) {
    // Checked now, so a typo stops the daemon rather than every create.
    char* real = realpath(trusted_keys.c_str(), nullptr);
    keys_dir = real ? real : trusted_keys;
    free(real);
    auto keys = image::load_trusted_keys(keys_dir, error);
    if (!keys || keys->keys.empty()) {
      fprintf(stderr, "atoll daemon: %s\n",
              keys ? ("--trusted-keys " + keys_dir + " holds no public key (*.pub)").c_str() : error.c_str());
      return kExitError;
    }
  }
  if (!prepare_socket_dir(socket_path, named_by_user, error)) {
    fprintf(stderr, "atoll daemon: %s\n", error.c_str());
    return kExitError;
  }
  int signal_fd = take_stop_signals();
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit();

  EventLoop loop;
  Fleet fleet(loop, sandbox_pool);
  const std::string xenstore_path = socket_path + ".xenstored";
  auto server = DaemonServer::try_create(loop, fleet, socket_path, xenstore_path, keys_dir);
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
  fprintf(stderr, "atoll daemon: resource limits: %s\n", limits_note().c_str());
  fprintf(stderr, "atoll daemon: %u guest processes started ahead of creates (--sandbox-pool)\n", sandbox_pool);
  if (!keys_dir.empty())
    fprintf(stderr, "atoll daemon: signing policy: only images signed by a key in %s are created\n", keys_dir.c_str());
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
