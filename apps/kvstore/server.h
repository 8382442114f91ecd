// The event loop: one thread, poll() over the listening socket and every
// connection. Each pass reads what arrived, runs every complete command in
// each connection's input (pipelining), commits the pass's log records (the
// group commit: under appendfsync=always nothing is replied before its
// records are durable), then writes replies, leaving the rest for POLLOUT.
// A connection whose unsent replies pass a high-water mark is not read from
// until they drain. When the log's device is full, the log's write waits
// for the disk (write_behind.h): meanwhile the loop reads and runs nothing,
// and the rest of a pipeline waits in the network. A timer pass every
// 100 ms runs active expiry and the everysec flush.
#pragma once

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <string>
#include <vector>

#include "aof.h"
#include "commands.h"
#include "config.h"
#include "keyspace.h"
#include "resp.h"

namespace kv {

class Server {
 public:
  Server(const Config& config, Dispatcher& dispatcher, Keyspace& keys, Aof* aof, ServerStats& stats);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  bool try_listen(std::string& error);
  // Serves until the log fails; returns the exit status.
  int run();

 private:
  struct Connection {
    Connection(int fd_, uint64_t id, ParserLimits limits) : fd(fd_), parser(limits) { state.id = id; }
    size_t pending_out() const { return out.size() - out_pos; }

    int fd;
    ClientState state;
    RequestParser parser;
    std::string in;
    size_t in_pos = 0;
    std::string out;
    size_t out_pos = 0;
    bool paused = false;   // stopped running commands at the high-water mark
    // The parser took what `in` holds and needs more bytes to finish a
    // command (or to fail one: a line is refused only once it is past the
    // limit), so reading must go on however much of it is buffered.
    bool needs_input = false;
    bool eof = false;      // the peer sent all it will
    bool closing = false;  // QUIT or a protocol error: send what is queued, then close
    bool dead = false;
  };

  // Unsent replies past which a connection's commands wait: 1 MiB, less
  // under a small maxmemory (an eighth of the client buffer limit), since
  // the buffer grows by doubling and the heap must find it in one piece.
  size_t output_high_water() const;
  static constexpr int64_t kCronMs = 100;
  static constexpr size_t kReadSize = 64 * 1024;

  void build_pollfds(int64_t mono_ms);
  void accept_clients();
  void read_from(Connection& c);
  void process_input(Connection& c, int64_t now_ms);
  void write_to(Connection& c);
  // Closes a client past its query or output buffer limit (memory.h).
  bool over_buffer_limit(Connection& c);
  void cron(int64_t mono_ms, int64_t now_ms);
  bool commit_log(int64_t now_ms);
  void drop_dead();
  int poll_timeout(int64_t mono_ms) const;

  const Config& m_config;
  Dispatcher& m_dispatcher;
  Keyspace& m_keys;
  Aof* m_aof;
  ServerStats& m_stats;
  ParserLimits m_limits;
  int m_listen_fd = -1;
  bool m_listen_polled = false;
  int64_t m_accept_paused_until = 0;  // out of descriptors: retry at the next timer pass
  std::vector<std::unique_ptr<Connection>> m_conns;
  std::vector<pollfd> m_pollfds;
  std::vector<char> m_read_buf = std::vector<char>(kReadSize);
  uint64_t m_next_id = 1;
  int64_t m_next_cron_ms = 0;
};

}  // namespace kv
