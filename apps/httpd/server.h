// The listening socket and the single-threaded poll() loop over all connections.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <stdint.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "access_log.h"
#include "connection.h"
#include "file_source.h"
#include "handler.h"
#include "memory_budget.h"
#include "options.h"
#include "unique_fd.h"

namespace atl::httpd {

class Server {
 public:
  // Binds and listens; on failure `error` says why ("cannot bind 0.0.0.0:80: ...").
  static std::unique_ptr<Server> try_create(const Options& options, std::string& error);

  // Serves until poll() itself fails; returns the process exit status.
  int run();

  uint64_t memory_budget() const { return m_budget.limit(); }

 private:
  explicit Server(const Options& options, UniqueFd listener);

  void accept_new(uint64_t now_us);
  void admit(UniqueFd conn, const sockaddr_storage& peer, uint64_t now_us);
  int poll_timeout_ms(uint64_t now_us) const;
  void refresh_clock();
  ConnContext context();

  Options m_options;
  UniqueFd m_listener;
  FileSource m_files;
  Handler m_handler;
  AccessLog m_log;
  ParseLimits m_limits;
  MemoryBudget m_budget;
  std::vector<char> m_scratch;
  std::vector<std::unique_ptr<Connection>> m_conns;
  std::vector<struct pollfd> m_pollfds;

  uint64_t m_now_us = 0;
  time_t m_wall = 0;
  std::string m_date;               // format_http_date(m_wall), redone once a second
  uint64_t m_accept_paused_until = 0;  // after EMFILE: stop polling the listener briefly
};

}  // namespace atl::httpd
