// Host tools' access to the daemon: a Unix stream socket (mode 0600, so only
// the hypervisor's user can connect) speaking the same wire format as the
// rings. Every client acts as domain 0. Debian's xenstore-* tools find it
// through XENSTORED_PATH=<socket>.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "event_loop.h"
#include "xenstored_core.h"
#include "xs_connection.h"
#include "xs_wire.h"

namespace atl::hv::xs {

class SocketServer;

class SocketConnection : public Connection {
 public:
  SocketConnection(Core& core, SocketServer& server, EventLoop& loop, int fd);
  ~SocketConnection() override;

  // The socket is readable and/or writable (epoll events).
  void on_io(uint32_t events);
  void flush() override;
  bool closed() const { return m_closed || failed(); }

 private:
  void read_requests();
  void update_interest();

  Core& m_core;
  SocketServer& m_server;
  EventLoop& m_loop;
  int m_fd;
  MessageAssembler m_in;
  bool m_closed = false;
  uint32_t m_interest = 0;
};

class SocketServer {
 public:
  SocketServer(Core& core, EventLoop& loop) : m_core(core), m_loop(loop) {}
  ~SocketServer();
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

  // Replaces any stale socket file at `path`. `error` says why on failure.
  bool listen(const std::string& path, std::string& error);
  size_t connection_count() const { return m_conns.size(); }
  // Closes connections marked closed, soon (not under their own handlers).
  void schedule_reap();

 private:
  void accept_all();
  void reap();

  Core& m_core;
  EventLoop& m_loop;
  int m_listen_fd = -1;
  std::string m_path;
  std::unordered_map<int, std::unique_ptr<SocketConnection>> m_conns;
  std::optional<EventLoop::TimerId> m_reap_timer;
};

}  // namespace atl::hv::xs
