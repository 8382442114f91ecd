#include "run_client.h"

#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "daemon_client.h"
#include "run.h"
#include "run_stream.h"
#include "socket_path.h"
#include "stop_signals.h"

namespace atl::hv::fleet {

using nlohmann::json;

namespace {

// What only a domain of its own loop can have; named so the user knows the way out.
std::optional<std::string> foreground_only(const RunOptions& o, const std::string& socket_path) {
  std::string why;
  if (o.busy_poll_given)
    why = "--busy-poll tunes a loop that serves one domain; the daemon's loop serves them all";
  else if (!o.xenstore_socket.empty())
    why = "--xenstore-socket makes a private xenstore; under the daemon the domain is in its shared one "
          "(`atoll info` names its socket)";
  if (why.empty()) return std::nullopt;
  return why + ". A daemon is running at " + socket_path + ": add --no-daemon to run this domain on its own";
}

// One domain's run, seen from here: its output, its events, the signals that stop it.
class RunSession {
 public:
  RunSession(DaemonClient& client, std::string name) : m_client(client), m_name(std::move(name)) {}
  int serve(int signal_fd);

 private:
  bool on_daemon(const char* data, size_t length);
  void on_event(const json& event);

  DaemonClient& m_client;
  std::string m_name;
  RunMessageReader m_reader;
  std::optional<int> m_status;     // from the daemon's "ended"
  std::optional<int> m_preserved;  // the status a preserved domain ended with
  bool m_interrupted = false;
};

void RunSession::on_event(const json& event) {
  std::string kind = event.value("event", "");
  std::string reason = event.value("reason", "");
  std::string detail = event.value("detail", "");
  int status = event.value("exit_status", kExitAtollError);
  if (kind == "preserved") {
    m_preserved = status;
    fprintf(stderr, "atoll: %s; domain preserved, press Ctrl-C to destroy it\n", reason.c_str());
    return;
  }
  m_status = status;
  if (m_interrupted || m_preserved || reason == "poweroff") return;
  fprintf(stderr, "atoll: domain %s: %s%s%s\n", m_name.c_str(), reason.empty() ? "ended" : reason.c_str(),
          detail.empty() ? "" : ": ", detail.c_str());
}

// False once the stream makes no sense (not a daemon we know).
bool RunSession::on_daemon(const char* data, size_t length) {
  m_reader.feed(data, length);
  while (auto m = m_reader.next()) {
    if (m->kind == RunMessageKind::kOutput) {
      if (!write_all(STDOUT_FILENO, m->bytes.data(), m->bytes.size())) return false;
      continue;
    }
    json event = json::parse(m->bytes, nullptr, false);
    if (event.is_object()) on_event(event);
  }
  return !m_reader.broken();
}

int RunSession::serve(int signal_fd) {
  int fd = m_client.fd();
  std::string early = m_client.take_rest();
  if (!on_daemon(early.data(), early.size())) return kExitAtollError;
  bool stdin_open = true, daemon_open = true;
  while (daemon_open) {
    pollfd fds[3] = {{fd, POLLIN, 0}, {signal_fd, POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      return kExitAtollError;
    }
    char buf[65536];
    if (fds[0].revents) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) daemon_open = false;
      else if (!on_daemon(buf, static_cast<size_t>(n))) return kExitAtollError;
    }
    if (fds[1].revents) {
      signalfd_siginfo si;
      // Closing our half tells the daemon to destroy the domain; its last
      // output and its end still come back.
      if (read(signal_fd, &si, sizeof si) == sizeof si && !m_interrupted) {
        m_interrupted = true;
        shutdown(fd, SHUT_WR);
        stdin_open = false;
      }
    }
    if (stdin_open && fds[2].revents) {
      // As without a daemon: what is typed goes to the guest; the end of
      // input is only the end of input (the guest runs on).
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || !write_all(fd, buf, static_cast<size_t>(n))) stdin_open = false;
    }
  }
  fflush(stdout);
  if (m_preserved) return *m_preserved;
  if (m_interrupted) return kExitInterrupted;
  if (m_status) return *m_status;
  fprintf(stderr, "atoll: the daemon went away before domain %s ended\n", m_name.c_str());
  return kExitAtollError;
}

}  // namespace

std::optional<int> run_on_daemon(const std::vector<std::string>& args, const RunOptions& options) {
  std::string socket_path = default_socket_path();
  std::optional<DaemonClient> client;
  std::string error;
  switch (DaemonClient::connect(socket_path, client, error)) {
    case DaemonClient::Reach::kNoDaemon:
    case DaemonClient::Reach::kGone: return std::nullopt;  // a killed daemon's socket: run on our own
    case DaemonClient::Reach::kRefused:
      fprintf(stderr, "atoll: %s (--no-daemon runs the domain on its own)\n", error.c_str());
      return kExitAtollError;
    case DaemonClient::Reach::kConnected: break;
  }
  if (auto why = foreground_only(options, socket_path)) {
    fprintf(stderr, "atoll: %s\n", why->c_str());
    return kExitAtollError;
  }
  // The stop signals are ours before the domain exists: none is lost between.
  int signal_fd = take_stop_signals();
  signal(SIGPIPE, SIG_IGN);
  char cwd[PATH_MAX];
  json request{{"verb", "run"}, {"args", args}, {"cwd", getcwd(cwd, sizeof cwd) ? cwd : ""}};
  json answer = client->request(request);
  if (!answer.value("ok", false)) {
    fprintf(stderr, "atoll: %s\n", answer.value("error", std::string("the daemon refused")).c_str());
    close(signal_fd);
    return kExitAtollError;
  }
  if (options.config.verbose)
    fprintf(stderr, "atoll: domain %s is id %d on the daemon at %s\n", answer.value("name", std::string()).c_str(),
            answer.value("domid", 0), socket_path.c_str());
  int status = RunSession(*client, answer.value("name", std::string())).serve(signal_fd);
  close(signal_fd);
  return status;
}

}  // namespace atl::hv::fleet
