// The client half of the daemon's protocol (daemon_server.h), for the verbs.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace atl::hv::fleet {

class DaemonClient {
 public:
  enum class Reach { kConnected, kNoDaemon, kRefused };

  // Connects to the daemon at `socket_path`. kNoDaemon: nothing listens there;
  // kRefused: the socket is not ours to use (error says why).
  static Reach connect(const std::string& socket_path, std::optional<DaemonClient>& out, std::string& error);
  DaemonClient(DaemonClient&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
  DaemonClient& operator=(DaemonClient&&) = delete;
  ~DaemonClient();

  // Sends one request and reads the one-line answer; a transport failure or
  // refusal comes back as {"ok": false, "error": ...} too.
  nlohmann::json request(const nlohmann::json& message);
  // `console`: the answer, then the connection carries the console both ways
  // until the daemon or the user ends it. Returns the exit status.
  int console(const std::string& domain, const std::string& socket_path);

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
