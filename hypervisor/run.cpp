#include "run.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "event_loop.h"
#include "run_spec.h"
#include "toolstack.h"
#include "uplink.h"
#include "xenstored.h"

namespace atl::hv {

const char* const kRunHelp =
    "usage: atoll run IMAGE [options] [-- ARGS...]\n"
    "\n"
    "Builds a domain from IMAGE and runs it in the foreground. The guest's console is\n"
    "this terminal's stdout; ARGS become the guest's argv[1...].\n"
    "\n"
    "IMAGE is a sealed image (`atoll seal`) or a bare ELF. A sealed image is verified\n"
    "before any domain exists, and its manifest supplies defaults: memory, vifs,\n"
    "published ports (unless -p or --net is given), disks (a required one must be given\n"
    "with --disk) and the guest arguments (unless ARGS are given). Options override them.\n"
    "\n"
    "options:\n"
    "  -m, --memory SIZE        guest memory, e.g. 16M, 512K, 1G (default 16M)\n"
    "  -n, --name NAME          domain name (default: the image's file name)\n"
    "      --on-poweroff ACTION what to do when the guest powers off   (default destroy)\n"
    "      --on-reboot ACTION   what to do when the guest reboots      (default restart)\n"
    "      --on-crash ACTION    what to do when the guest crashes      (default destroy)\n"
    "                           ACTION is destroy, restart or preserve (keep the stopped\n"
    "                           domain until Ctrl-C, e.g. to attach a debugger's eyes)\n"
    "      --max-restarts N     give up after N restarts in a row (default 10)\n"
    "      --console-log FILE   also append everything the guest prints to FILE\n"
    "      --busy-poll USEC     after activity, poll this long before sleeping (default 100;\n"
    "                           0: sleep at once). Yields to anything runnable, and stops\n"
    "                           while disk requests are in flight\n"
    "      --cpu-cap PERCENT    the most of one host CPU the guest may use (xl's cpu_cap;\n"
    "                           default 0: no cap); over it, the guest is held until its\n"
    "                           share is paid back\n"
    "      --disk PATH[,ro][,direct][,queues=N]\n"
    "                           a raw disk image as the next vbd (repeatable); direct: O_DIRECT;\n"
    "                           queues: ring queues offered (1-16, default 4)\n"
    "      --net SPEC           a network interface as the next vif (repeatable):\n"
    "                             user[,hostfwd=tcp:127.0.0.1:8080-:80]...  NAT, no root\n"
    "                               (libslirp, with published TCP ports served by the\n"
    "                               hypervisor itself; ,backend=slirp: libslirp for all;\n"
    "                               ,backend=passt: Debian's passt instead)\n"
    "                             tap=NAME    a host TAP device\n"
    "                             switch=NAME a switch shared with other appliances\n"
    "                           then optionally ,mac=XX:..:XX ,rate=10Mb/s ,ip=A.B.C.D/N ,gw=A.B.C.D;\n"
    "                           none: no network. Default: one `user` vif if the image uses sockets\n"
    "  -p, --publish [ADDR:]HOSTPORT:PORT[/udp]\n"
    "                           forward a host port to the guest through the first user vif\n"
    "                           (ADDR defaults to 127.0.0.1), e.g. -p 8080:80; -p none: publish\n"
    "                           nothing, not even the ports the image's manifest names\n"
    "      --xenstore-socket PATH  serve xenstore to host tools (xenstore-ls, ...) on\n"
    "                           this Unix socket; use them with XENSTORED_PATH=PATH.\n"
    "                           Without it a private socket is made (shown with -v)\n"
    "      --require-signed     refuse a bare ELF, an unsigned image, or one signed by a key\n"
    "                           not in --trusted-keys\n"
    "      --trusted-keys DIR   public keys (*.pub, from `atoll keygen`) to accept; implies\n"
    "                           --require-signed\n"
    "  -v, --verbose            print the hypervisor's boot log with timings to stderr\n"
    "  -h, --help               show this help\n"
    "\n"
    "exit status:\n"
    "  0-124  the guest powered off with this exit status\n"
    "  125    atoll itself failed (bad arguments, unreadable or invalid image, host error)\n"
    "  128    the guest rebooted and --on-reboot is destroy\n"
    "  130    interrupted (Ctrl-C, SIGTERM)\n"
    "  134    the guest crashed (fault, abort, failed assertion); a backtrace is printed\n"
    "  159    the guest made a Linux system call and was killed by its sandbox\n";

namespace {

// A private directory (mode 0700) for the xenstore socket, removed at exit.
struct SocketDir {
  std::string path;
  bool create(std::string& error) {
    const char* base = getenv("XDG_RUNTIME_DIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/atoll-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back(0);
    if (!mkdtemp(buf.data())) { error = std::string("cannot create a socket directory: ") + strerror(errno); return false; }
    path = buf.data();
    return true;
  }
  ~SocketDir() {
    if (path.empty()) return;
    unlink((path + "/xenstored").c_str());
    rmdir(path.c_str());
  }
};

// The terminal's input goes to the guest's console ring. A pipe or terminal is
// watched and read once per readiness (so it never blocks and stays in blocking
// mode for whoever shares it); a file or /dev/null, which epoll refuses, is read
// to its end at once.
void forward_stdin(EventLoop& loop, ConsoleBackend& console, bool& open) {
  if (!open) return;
  char buf[4096];
  bool watched = loop.add_fd(STDIN_FILENO, EPOLLIN, [&console, &open, &loop](uint32_t) {
    char chunk[4096];
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n > 0) { console.push_input(chunk, n); return; }
    if (n < 0 && errno == EINTR) return;
    open = false;  // EOF or error: stop watching
    loop.remove_fd(STDIN_FILENO);
  });
  if (watched) return;
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0) { console.push_input(buf, n); continue; }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  open = false;
}

// What the supervisor does when a domain ends, and the exit status it means.
struct Verdict {
  Action action = Action::kDestroy;
  int status = 0;
  EndReason reason = EndReason::kPoweroff;
};

Verdict judge(const DomainConfig& config, const DomainEnd& e) {
  switch (e.reason) {
    case EndReason::kPoweroff: return {config.on_poweroff, e.exit_status, e.reason};
    case EndReason::kReboot: return {config.on_reboot, kExitReboot, e.reason};
    case EndReason::kCrash:
    case EndReason::kWatchdog: return {config.on_crash, kExitCrash, e.reason};
    case EndReason::kForbiddenSyscall: return {config.on_crash, kExitForbiddenSyscall, e.reason};
    case EndReason::kInterrupted: return {Action::kDestroy, kExitInterrupted, e.reason};
    case EndReason::kStartFailed: return {Action::kDestroy, kExitAtollError, e.reason};
    default: return {Action::kDestroy, kExitCrash, e.reason};
  }
}

// The process-wide side of `atoll run`: one loop, the signals that stop it,
// the terminal, a private xenstore, and the vifs' uplinks (which outlive
// restarts). Supervises one domain until it ends for good.
class ForegroundRun {
 public:
  ForegroundRun(const DomainPlan& plan) : m_plan(plan), m_store(m_loop) {}
  ~ForegroundRun();
  // Returns the exit status.
  int run(const std::string& xenstore_socket);

 private:
  bool set_up(const std::string& xenstore_socket);
  void watch_signals();
  // One incarnation of the domain; the verdict once it ended.
  std::optional<Verdict> run_once(std::unique_ptr<DomainInstance>& instance);
  int preserve(const char* why, int status);

  const DomainPlan& m_plan;
  EventLoop m_loop;
  xs::Xenstored m_store;
  SocketDir m_socket_dir;
  std::vector<std::unique_ptr<FramePort>> m_uplinks;
  int m_console_log_fd = -1;
  int m_signal_fd = -1;
  bool m_stdin_open = true;
  bool m_interrupted = false;
  Domain* m_running = nullptr;
};

ForegroundRun::~ForegroundRun() {
  if (m_signal_fd >= 0) {
    m_loop.remove_fd(m_signal_fd);
    close(m_signal_fd);
  }
  if (m_console_log_fd >= 0) close(m_console_log_fd);
}

bool ForegroundRun::set_up(const std::string& xenstore_socket) {
  std::string error;
  if (!m_plan.console_log.empty()) {
    m_console_log_fd = open(m_plan.console_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (m_console_log_fd < 0) {
      fprintf(stderr, "atoll: cannot open console log %s: %s\n", m_plan.console_log.c_str(), strerror(errno));
      return false;
    }
  }
  m_loop.set_busy_poll(m_plan.busy_poll_us * 1000);
  for (const VifConfig& vif : m_plan.vifs) {
    auto uplink = open_uplink(m_loop, vif, error);
    if (!uplink) { fprintf(stderr, "atoll: %s\n", error.c_str()); return false; }
    m_uplinks.push_back(std::move(uplink));
  }
  watch_signals();
  std::string socket_path = xenstore_socket;
  if (socket_path.empty()) {
    if (!m_socket_dir.create(error)) { fprintf(stderr, "atoll: %s\n", error.c_str()); return false; }
    socket_path = m_socket_dir.path + "/xenstored";
  }
  if (!m_store.listen(socket_path, error)) {
    fprintf(stderr, "atoll: cannot serve xenstore on %s: %s\n", socket_path.c_str(), error.c_str());
    return false;
  }
  if (m_plan.config.verbose || !xenstore_socket.empty())
    fprintf(stderr, "atoll: xenstore for host tools: XENSTORED_PATH=%s\n", socket_path.c_str());
  return true;
}

// Ctrl-C, SIGTERM and SIGHUP destroy the domain (or end a preserved one's wait).
void ForegroundRun::watch_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, sig);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  m_signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  m_loop.add_fd(m_signal_fd, EPOLLIN, [this](uint32_t) {
    signalfd_siginfo si;
    if (read(m_signal_fd, &si, sizeof si) <= 0) return;
    m_interrupted = true;
    if (m_running) m_running->destroy(EndReason::kInterrupted, std::string("stopped by ") + strsignal(static_cast<int>(si.ssi_signo)));
  });
}

std::optional<Verdict> ForegroundRun::run_once(std::unique_ptr<DomainInstance>& instance) {
  std::vector<FramePort*> uplinks;
  for (auto& u : m_uplinks) uplinks.push_back(u.get());
  auto created = DomainInstance::try_create(m_loop, m_store, m_plan, 1,
                                            {ConsoleBackend::Sinks{STDOUT_FILENO, m_console_log_fd, {}}, uplinks});
  if (!created.ok()) {
    fprintf(stderr, "atoll: %s\n", created.error().message.c_str());
    return std::nullopt;
  }
  instance = std::move(created.value());
  Domain& domain = instance->domain();
  m_running = &domain;
  forward_stdin(m_loop, instance->console(), m_stdin_open);
  while (!domain.ended()) m_loop.run_once();
  DomainEnd e = domain.finish();
  m_running = nullptr;
  if (m_stdin_open) m_loop.remove_fd(STDIN_FILENO);
  fflush(stdout);
  if (e.reason == EndReason::kStartFailed) {
    fprintf(stderr, "atoll: cannot start the domain: %s\n", e.detail.c_str());
    return std::nullopt;
  }
  if (e.reason != EndReason::kPoweroff && e.reason != EndReason::kInterrupted)
    fprintf(stderr, "atoll: domain %s: %s%s%s\n", m_plan.config.name.c_str(), to_string(e.reason), e.detail.empty() ? "" : ": ",
            e.detail.c_str());
  return judge(m_plan.config, e);
}

// The stopped domain stays (its memory for inspection, its xenstore nodes for
// host tools) until a stop signal; the loop keeps serving xenstore meanwhile.
int ForegroundRun::preserve(const char* why, int status) {
  fprintf(stderr, "atoll: %s; domain preserved, press Ctrl-C to destroy it\n", why);
  while (!m_interrupted) m_loop.run_once();
  return status;
}

int ForegroundRun::run(const std::string& xenstore_socket) {
  if (!set_up(xenstore_socket)) return kExitAtollError;
  for (unsigned restarts = 0;; ++restarts) {
    std::unique_ptr<DomainInstance> instance;
    auto verdict = run_once(instance);
    if (!verdict) return kExitAtollError;
    if (m_interrupted) return kExitInterrupted;
    const std::string& name = m_plan.config.name;
    if (verdict->action == Action::kRestart) {
      if (restarts + 1 > m_plan.max_restarts) {
        fprintf(stderr, "atoll: domain %s restarted %u times in a row; giving up\n", name.c_str(), m_plan.max_restarts);
        return verdict->status;
      }
      fprintf(stderr, "atoll: restarting domain %s\n", name.c_str());
      continue;
    }
    if (verdict->action == Action::kPreserve) return preserve(to_string(verdict->reason), verdict->status);
    return verdict->status;
  }
}

[[noreturn]] void usage_error(const std::string& message) {
  fprintf(stderr, "atoll: %s\nTry `atoll run --help`.\n", message.c_str());
  exit(kExitAtollError);
}

}  // namespace

int cmd_run(const std::vector<std::string>& args) {
  auto options = parse_run_options(args);
  if (!options.ok()) usage_error(options.error().message);
  if (options.value().help) {
    fputs(kRunHelp, stdout);
    return 0;
  }
  std::string xenstore_socket = options.value().xenstore_socket;
  auto plan = resolve_run(std::move(options.value()));
  if (!plan.ok()) {
    if (plan.error().usage) usage_error(plan.error().message);
    fprintf(stderr, "atoll: %s\n", plan.error().message.c_str());
    return kExitAtollError;
  }
  return ForegroundRun(plan.value()).run(xenstore_socket);
}

}  // namespace atl::hv
