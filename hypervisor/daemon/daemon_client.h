// The client half of the daemon's protocol (daemon_server.h), for the verbs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace atl::hv::fleet {

// Writes all of it, through short writes and EINTR; false when the fd fails.
bool write_all(int fd, const char* data, size_t length);

class DaemonClient {
 public:
  enum class Reach { kConnected, kNoDaemon, kGone, kRefused };

  // Connects to the daemon at `socket_path`. kNoDaemon: there is no socket;
  // kGone: a socket is there but nothing answers (its daemon was killed);
  // kRefused: the socket is not ours to use. `error` says which, for the user.
  static Reach connect(const std::string& socket_path, std::optional<DaemonClient>& out, std::string& error);
  DaemonClient(DaemonClient&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  DaemonClient& operator=(DaemonClient&&) = delete;
  ~DaemonClient();

  // Sends one request and reads the one-line answer; a transport failure or
  // refusal comes back as {"ok": false, "error": ...} too.
  nlohmann::json request(const nlohmann::json& message);
  // `console` (or `create` with "console": true): the answer, handed to
  // `on_answer` when it is a success, then the connection carries the console
  // both ways until the daemon or the user ends it. Returns the exit status.
  int console(const nlohmann::json& request, const std::string& socket_path,
              const std::function<void(const nlohmann::json&)>& on_answer = {});
  // For a connection that carries more than answers after a request (`run`):
  // its descriptor, and what was read past the answer.
  int fd() const { return m_fd; }
  std::string take_rest() { return std::exchange(m_rest, {}); }

 private:
  explicit DaemonClient(int fd) : m_fd(fd) {}
  bool send_line(const nlohmann::json& message);
  // Reads up to and including the first newline; what follows stays in m_rest.
  std::optional<std::string> read_line();

  int m_fd = -1;
  std::string m_rest;
};

// Connects, or prints why not (and returns nullopt).
std::optional<DaemonClient> connect_or_report(const std::string& socket_path);
// Sends one request; the answer when it is {"ok": true, ...}, else prints the
// daemon's error and returns nullopt.
std::optional<nlohmann::json> ask_daemon(const std::string& socket_path, const nlohmann::json& request);

}  // namespace atl::hv::fleet
