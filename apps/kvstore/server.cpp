#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "memory.h"
#include "timeutil.h"

namespace kv {

namespace {

#ifdef MSG_NOSIGNAL
constexpr int kSendFlags = MSG_NOSIGNAL;  // a closed peer is an error, not SIGPIPE
#else
constexpr int kSendFlags = 0;
#endif

bool set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK || err == EINTR; }

}  // namespace

Server::Server(const Config& config, Dispatcher& dispatcher, Keyspace& keys, Aof* aof, ServerStats& stats)
    : m_config(config), m_dispatcher(dispatcher), m_keys(keys), m_aof(aof), m_stats(stats) {
  m_limits.max_bulk = config.max_bulk;
}

Server::~Server() {
  for (auto& c : m_conns) ::close(c->fd);
  if (m_listen_fd >= 0) ::close(m_listen_fd);
}

bool Server::try_listen(std::string& error) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(m_config.port);
  if (inet_pton(AF_INET, m_config.addr.c_str(), &sa.sin_addr) != 1) {
    error = "bad address '" + m_config.addr + "' (expected an IPv4 address such as 127.0.0.1)";
    return false;
  }
  m_listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  if (m_listen_fd < 0 || setsockopt(m_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(m_listen_fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(m_listen_fd, 511) != 0 ||
      !set_nonblocking(m_listen_fd)) {
    error = "cannot listen on " + m_config.addr + ":" + std::to_string(m_config.port) + ": " + strerror(errno);
    return false;
  }
  return true;
}

int Server::run() {
  m_next_cron_ms = monotonic_ms() + kCronMs;
  for (;;) {
    int64_t mono = monotonic_ms();
    build_pollfds(mono);
    int n = ::poll(m_pollfds.data(), m_pollfds.size(), poll_timeout(mono));
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "kvstore: poll: %s\n", strerror(errno));
      return 1;
    }
    size_t first = m_listen_polled ? 1 : 0;
    for (size_t i = first; n > 0 && i < m_pollfds.size(); ++i) {
      if (m_pollfds[i].revents & (POLLIN | POLLHUP | POLLERR)) read_from(*m_conns[i - first]);
    }
    if (n > 0 && m_listen_polled && (m_pollfds[0].revents & POLLIN)) accept_clients();

    int64_t now = realtime_ms();
    for (auto& c : m_conns) {
      if (!c->dead && !c->closing && c->in_pos < c->in.size() && c->pending_out() < output_high_water())
        process_input(*c, now);
      if (c->eof && !c->paused) c->closing = true;  // nothing more will complete a partial command
    }
    mono = monotonic_ms();
    if (mono >= m_next_cron_ms) cron(mono, now);
    if (!commit_log(now)) return 1;
    for (auto& c : m_conns) {
      if (!c->dead && c->pending_out() > 0) write_to(*c);
      if (c->closing && c->pending_out() == 0) c->dead = true;
    }
    drop_dead();
  }
}

// The listener comes first when it is polled; connection i is then at i + 1.
void Server::build_pollfds(int64_t mono_ms) {
  m_pollfds.clear();
  m_listen_polled = m_conns.size() < m_config.max_clients + 16 && mono_ms >= m_accept_paused_until;
  if (m_listen_polled) m_pollfds.push_back({m_listen_fd, POLLIN, 0});
  for (auto& c : m_conns) {
    short events = 0;
    // Input is read only while little of it waits: replies (an -OOM error
    // is longer than the SET it answers) may drain slower than requests
    // arrive, and the kernel's socket buffer, not our heap, should hold the
    // rest of a big pipeline. Unless what waits is part of one command the
    // parser cannot finish without more: an inline line of exactly 64 KiB
    // (one full read) was neither a command nor over the limit, and the
    // connection was never read again (kvstore-inline-line-of-read-size).
    bool input_waits = !c->needs_input && c->in.size() - c->in_pos >= kReadSize;
    if (!c->eof && !c->closing && !input_waits && c->pending_out() < output_high_water()) events |= POLLIN;
    if (c->pending_out() > 0) events |= POLLOUT;
    m_pollfds.push_back({c->fd, events, 0});
  }
}

int Server::poll_timeout(int64_t mono_ms) const {
  for (const auto& c : m_conns) {
    if (c->paused && c->pending_out() < output_high_water()) return 0;  // buffered commands can run now
  }
  int64_t wait = m_next_cron_ms - mono_ms;
  return static_cast<int>(std::clamp<int64_t>(wait, 0, kCronMs));
}

void Server::accept_clients() {
  for (int i = 0; i < 64; ++i) {
    int fd = ::accept(m_listen_fd, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        m_accept_paused_until = m_next_cron_ms;
      return;
    }
    if (m_conns.size() >= m_config.max_clients) {
      static constexpr char kFull[] = "-ERR max number of clients reached\r\n";
      (void)::send(fd, kFull, sizeof kFull - 1, kSendFlags);
      ::close(fd);
      ++m_stats.rejected_connections;
      continue;
    }
    int one = 1;
    set_nonblocking(fd);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    m_conns.push_back(std::make_unique<Connection>(fd, m_next_id++, m_limits));
    ++m_stats.total_connections;
    m_stats.connected_clients = m_conns.size();
  }
}

void Server::read_from(Connection& c) {
  if (c.eof || c.closing || c.dead) return;
  // Through a scratch buffer: growing c.in by a whole read first would
  // zero-fill 64 KiB per call, kilobytes per pipelined command.
  ssize_t n = ::recv(c.fd, m_read_buf.data(), m_read_buf.size(), 0);
  if (n > 0) c.in.append(m_read_buf.data(), static_cast<size_t>(n));
  else if (n == 0) c.eof = true;
  else if (!would_block(errno)) c.dead = true;
}

void Server::process_input(Connection& c, int64_t now_ms) {
  c.paused = false;
  c.needs_input = false;
  for (;;) {
    if (c.closing) break;
    if (c.pending_out() >= output_high_water()) {
      c.paused = c.in_pos < c.in.size();  // resume once the replies drain, without waiting for input
      break;
    }
    size_t used = 0;
    auto status = c.parser.parse(std::string_view(c.in).substr(c.in_pos), used);
    c.in_pos += used;
    if (status == RequestParser::Status::kNeedMore) {
      c.needs_input = true;
      break;
    }
    if (status == RequestParser::Status::kError) {
      reply::error(c.out, c.parser.error());
      c.closing = true;  // as Redis: reply, then close
      break;
    }
    m_dispatcher.execute(c.state, c.parser.args(), c.out, now_ms);
    if (c.state.close_after_reply) c.closing = true;
    if (over_buffer_limit(c)) break;
  }
  if (!c.dead && !c.closing) (void)over_buffer_limit(c);  // a command in progress past the limit
  if (c.in_pos == c.in.size()) {
    c.in.clear();
    c.in_pos = 0;
    if (c.in.capacity() > output_high_water()) c.in.shrink_to_fit();
  } else if (c.in_pos >= 64 * 1024) {
    c.in.erase(0, c.in_pos);
    c.in_pos = 0;
  }
}

size_t Server::output_high_water() const {
  return static_cast<size_t>(std::min<uint64_t>(1u << 20, mem::client_buffer_limit(m_keys.limit().maxmemory) / 8));
}

bool Server::over_buffer_limit(Connection& c) {
  uint64_t limit = mem::client_buffer_limit(m_keys.limit().maxmemory);
  if (c.state.output_overflow || c.pending_out() > limit) {
    // Part of a reply may be out already: nothing more can be sent that the
    // client could parse, so it is closed, as Redis does.
    fprintf(stderr, "kvstore: closing client %llu: its replies passed the output buffer limit of %llu bytes\n",
            static_cast<unsigned long long>(c.state.id), static_cast<unsigned long long>(limit));
    c.dead = true;
    return true;
  }
  if (c.parser.partial_bytes() + (c.in.size() - c.in_pos) > limit) {
    reply::error(c.out, "ERR client query buffer limit of " + std::to_string(limit) + " bytes reached; closing");
    c.closing = true;
    return true;
  }
  return false;
}

void Server::write_to(Connection& c) {
  while (c.pending_out() > 0) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, c.pending_out(), kSendFlags);
    if (n > 0) {
      c.out_pos += static_cast<size_t>(n);
    } else if (n < 0 && would_block(errno)) {
      break;
    } else {
      c.dead = true;
      return;
    }
  }
  if (c.out_pos == c.out.size()) {
    c.out.clear();
    c.out_pos = 0;
    if (c.out.capacity() > output_high_water()) c.out.shrink_to_fit();
  } else if (c.out_pos >= output_high_water()) {
    c.out.erase(0, c.out_pos);
    c.out_pos = 0;
  }
}

void Server::cron(int64_t mono_ms, int64_t now_ms) {
  m_next_cron_ms = mono_ms + kCronMs;
  m_keys.active_expire_cycle(now_ms, 16);
  if (m_aof) (void)m_aof->tick(mono_ms);  // a failure is sticky; commit_log reports it
  uint64_t buffers = 0;
  for (const auto& c : m_conns) buffers += c->in.capacity() + c->out.capacity();
  m_stats.client_buffer_bytes = buffers;
}

bool Server::commit_log(int64_t now_ms) {
  if (!m_aof) return true;
  Aof::Status s = m_aof->commit(m_keys, now_ms);
  if (s == Aof::Status::kOk && m_aof->wants_compaction(m_keys)) {
    s = m_aof->compact(m_keys, now_ms);
    if (s == Aof::Status::kTooBig) s = Aof::Status::kOk;  // the old log stays; writes are refused when full
  }
  if (s == Aof::Status::kOk && !m_aof->failed()) return true;
  // Replies of this pass are not sent: under appendfsync=always nothing
  // unlogged was acknowledged.
  fprintf(stderr, "kvstore: append-only log: %s; exiting\n",
          Aof::describe(s == Aof::Status::kOk ? Aof::Status::kIoError : s));
  return false;
}

void Server::drop_dead() {
  auto it = std::remove_if(m_conns.begin(), m_conns.end(), [](const std::unique_ptr<Connection>& c) {
    if (c->dead) ::close(c->fd);
    return c->dead;
  });
  m_conns.erase(it, m_conns.end());
  m_stats.connected_clients = m_conns.size();
}

}  // namespace kv
