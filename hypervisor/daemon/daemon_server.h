// The daemon's socket: clients (the `atoll` verbs) send one JSON request per
// connection, one line, and get one JSON line back (protocol.md in
// docs/fleet.md). `console` turns the connection into the domain's console:
// its history and then its live output one way, the user's keystrokes the
// other, until the client closes.
//
// Only the daemon's owner and root may use it: the socket file is 0600, and
// a connection from any other uid (SO_PEERCRED) is refused with an error
// line, whatever the file's mode has become.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "event_loop.h"
#include "fleet.h"

namespace atl::hv::fleet {

class DaemonServer {
 public:
  // Listens on `socket_path`; a stale socket (nobody answers) is replaced, a
  // live one is an error (a daemon is already running there). A non-empty
  // `trusted_keys` is the daemon-wide signing policy: every image created must
  // be signed by a key in that directory, whatever the request says.
  static RunChecked<std::unique_ptr<DaemonServer>> try_create(EventLoop& loop, Fleet& fleet, const std::string& socket_path,
                                                             const std::string& xenstore_path,
                                                             const std::string& trusted_keys);
  ~DaemonServer();
  DaemonServer(const DaemonServer&) = delete;
  DaemonServer& operator=(const DaemonServer&) = delete;

  // A client's output buffer past this closes it (it stopped reading).
  static constexpr size_t kMaxPendingOutput = 4 << 20;

 private:
  struct Connection {
    int fd = -1;
    uid_t uid = 0;
    std::string in, out;
    enum class Mode { kRequest, kConsole, kClosing } mode = Mode::kRequest;
    uint16_t console_domid = 0;
  };

  DaemonServer(EventLoop& loop, Fleet& fleet) : m_loop(loop), m_fleet(fleet) {}
  void accept_clients();
  void on_event(int fd, uint32_t events);
  void on_readable(Connection& c);
  void handle_request(Connection& c, const std::string& line);
  nlohmann::json dispatch(Connection& c, const nlohmann::json& request);
  nlohmann::json create(const nlohmann::json& request);
  nlohmann::json list() const;
  nlohmann::json info() const;
  // `atoll top`'s sample: every domain's counters now (the client takes rates).
  nlohmann::json top() const;
  nlohmann::json attach_console(Connection& c, ManagedDomain& d);
  nlohmann::json xenstore(const std::string& verb, const nlohmann::json& request);
  void send(Connection& c, const std::string& bytes);
  void reply(Connection& c, const nlohmann::json& message);
  // Writes what it can; closes a closing connection once it is all out.
  void flush(Connection& c);
  void close_connection(int fd);
  void console_output(uint16_t domid, const char* data, size_t length);
  void domain_gone(uint16_t domid);

  EventLoop& m_loop;
  Fleet& m_fleet;
  std::string m_path;
  std::string m_xenstore_path;
  std::string m_trusted_keys;  // empty: any image
  int m_listen_fd = -1;
  uint64_t m_started_ns = 0;
  std::map<int, std::unique_ptr<Connection>> m_connections;
  std::multimap<uint16_t, int> m_consoles;  // domid -> attached connection
};

}  // namespace atl::hv::fleet
