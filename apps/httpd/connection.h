// One client connection: its receive buffer, the reply being sent, and the
// deadline that applies in its current state. Driven by the server's poll loop.
#pragma once

#include <stdint.h>

#include <string>
#include <vector>

#include "access_log.h"
#include "handler.h"
#include "http_parser.h"
#include "memory_budget.h"
#include "options.h"
#include "unique_fd.h"

namespace atl::httpd {

// What the server lends a connection for one call.
struct ConnContext {
  Handler& handler;
  AccessLog& log;
  const Options& options;
  const ParseLimits& limits;
  std::vector<char>& scratch;  // reads and file chunks; contents do not outlive the call
  uint64_t now_us;             // CLOCK_MONOTONIC
  Now now;
};

class Connection {
 public:
  enum class Next { Keep, Close };

  Connection(UniqueFd fd, std::string peer, uint64_t now_us, const Options& options, MemoryBudget& budget);

  // What a connection costs beyond its buffers: this object, its poll slot and
  // the stack's socket state (lwIP's pcb, netconn and socket: about 1 KiB).
  static constexpr uint64_t k_fixed_bytes = 2048;
  // The request buffer an idle keep-alive connection may keep.
  static constexpr size_t k_idle_buffer_bytes = 1024;
  // The room a new connection needs to be served: a full request head.
  static uint64_t admission_bytes(const ParseLimits& limits);

  int fd() const { return m_fd.get(); }
  short poll_events() const;
  uint64_t deadline_us() const { return m_deadline_us; }

  Next on_events(short revents, ConnContext& ctx);
  Next on_deadline(ConnContext& ctx);
  // The server is dropping the connection: log a reply cut short.
  void abort(ConnContext& ctx);
  // Beyond the memory budget: 503 and close, without reading a request.
  Next refuse(ConnContext& ctx);

 private:
  enum class State {
    Reading,    // waiting for (the rest of) a request head, or skipping a body
    Writing,    // sending m_reply
    Lingering,  // our side is shut down; draining input so the peer sees our reply, not a reset
  };
  enum class Flush { Done, Blocked, Failed };

  Next receive(ConnContext& ctx);
  Next advance(ConnContext& ctx);
  void take_request(ConnContext& ctx);
  Flush flush(ConnContext& ctx);
  Next finish_reply(ConnContext& ctx);
  void start_reply(Reply reply, ConnContext& ctx);
  void log_reply(ConnContext& ctx, uint64_t body_sent);
  Next charged(Next next);

  UniqueFd m_fd;
  std::string m_peer;
  State m_state = State::Reading;
  bool m_peer_eof = false;
  std::string m_in;
  uint64_t m_skip_body = 0;  // request body bytes still to drop
  uint64_t m_request_start_us = 0;
  uint64_t m_deadline_us = 0;
  uint64_t m_lingered = 0;  // bytes drained while lingering

  Request m_request;
  bool m_have_request = false;  // m_request is the one m_reply answers
  Reply m_reply;
  size_t m_out_sent = 0;
  uint64_t m_file_sent = 0;
  MemoryBudget::Charge m_charge;
};

}  // namespace atl::httpd
