#include "daemon_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "raw_terminal.h"

namespace atl::hv::fleet {

using nlohmann::json;

namespace {

// Ctrl-], as xl console's escape.
constexpr char kDetachKey = 0x1d;

json failure(const std::string& message) { return json{{"ok", false}, {"error", message}}; }


}  // namespace

bool write_all(int fd, const char* data, size_t length) {
  while (length) {
    ssize_t n = write(fd, data, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    length -= static_cast<size_t>(n);
  }
  return true;
}

DaemonClient::Reach DaemonClient::connect(const std::string& socket_path, std::optional<DaemonClient>& out, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    error = "the socket path " + socket_path + " is too long";
    return Reach::kRefused;
  }
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    out.emplace(DaemonClient(fd));
    return Reach::kConnected;
  }
  int e = errno;
  close(fd);
  if (e == EACCES || e == EPERM) {
    error = "permission denied: cannot use the atoll daemon at " + socket_path + " (only its owner and root may)";
    return Reach::kRefused;
  }
  if (e == ECONNREFUSED) {
    error = "the atoll daemon at " + socket_path +
            " is gone (its socket is left, but nothing answers); start one with `atoll daemon`";
    return Reach::kGone;
  }
  error = "no atoll daemon is running at " + socket_path + " (" + strerror(e) + "); start one with `atoll daemon`";
  return Reach::kNoDaemon;
}

DaemonClient::~DaemonClient() {
  if (m_fd >= 0) close(m_fd);
}

bool DaemonClient::send_line(const json& message) {
  std::string line = message.dump() + "\n";
  return write_all(m_fd, line.data(), line.size());
}

std::optional<std::string> DaemonClient::read_line() {
  for (;;) {
    size_t eol = m_rest.find('\n');
    if (eol != std::string::npos) {
      std::string line = m_rest.substr(0, eol);
      m_rest.erase(0, eol + 1);
      return line;
    }
    char buf[65536];
    ssize_t n = read(m_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    m_rest.append(buf, static_cast<size_t>(n));
  }
}

json DaemonClient::request(const json& message) {
  if (!send_line(message)) return failure("the daemon closed the connection");
  auto line = read_line();
  if (!line) return failure("the daemon closed the connection without an answer");
  json answer = json::parse(*line, nullptr, false);
  if (!answer.is_object()) return failure("the daemon's answer is not JSON");
  return answer;
}

int DaemonClient::console(const json& message, const std::string& socket_path,
                          const std::function<void(const json&)>& on_answer) {
  json answer = request(message);
  if (!answer.value("ok", false)) {
    fprintf(stderr, "atoll: %s\n", answer.value("error", std::string("console failed")).c_str());
    return 1;
  }
  if (on_answer) on_answer(answer);
  RawTerminal terminal;
  if (terminal.active())
    fprintf(stderr, "atoll: attached to domain %s (id %d) via %s; Ctrl-] detaches\r\n",
            answer.value("name", std::string()).c_str(), answer.value("domid", 0), socket_path.c_str());
  if (!m_rest.empty() && !write_all(STDOUT_FILENO, m_rest.data(), m_rest.size())) return 1;
  m_rest.clear();
  bool stdin_open = true;
  for (;;) {
    pollfd fds[2] = {{m_fd, POLLIN, 0}, {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    char buf[65536];
    if (fds[0].revents) {
      ssize_t n = read(m_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return 0;  // the domain is gone, or the daemon let us go after a detach
      if (!write_all(STDOUT_FILENO, buf, static_cast<size_t>(n))) return 1;
    }
    if (stdin_open && fds[1].revents) {
      ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      const char* key = n > 0 && terminal.active() ? static_cast<const char*>(memchr(buf, kDetachKey, static_cast<size_t>(n))) : nullptr;
      if (key) n = key - buf;
      if (n > 0 && !write_all(m_fd, buf, static_cast<size_t>(n))) return 1;
      if (key) return 0;  // detached; the daemon keeps the output meanwhile
      if (n <= 0) {
        // Input ended (a pipe or file): what the daemon has is still shown,
        // then it closes its end.
        stdin_open = false;
        shutdown(m_fd, SHUT_WR);
      }
    }
  }
}

std::optional<DaemonClient> connect_or_report(const std::string& socket_path) {
  std::optional<DaemonClient> client;
  std::string error;
  if (DaemonClient::connect(socket_path, client, error) != DaemonClient::Reach::kConnected)
    fprintf(stderr, "atoll: %s\n", error.c_str());
  return client;
}

std::optional<json> ask_daemon(const std::string& socket_path, const json& request) {
  auto client = connect_or_report(socket_path);
  if (!client) return std::nullopt;
  json answer = client->request(request);
  if (!answer.value("ok", false)) {
    fprintf(stderr, "atoll: %s\n", answer.value("error", std::string("the daemon refused")).c_str());
    return std::nullopt;
  }
  return answer;
}

}  // namespace atl::hv::fleet
