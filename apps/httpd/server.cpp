#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>

#include "clock.h"
#include "http_date.h"

namespace atl::httpd {
namespace {

constexpr size_t k_scratch_size = 64 * 1024;  // one recv, one file chunk
constexpr int k_listen_backlog = 511;
constexpr int k_accepts_per_turn = 64;        // then give existing connections a turn
constexpr uint64_t k_accept_pause_us = 100'000;

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
};

std::optional<SocketAddress> make_address(const std::string& addr, uint16_t port) {
  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  if (inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.length = sizeof(sockaddr_in);
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.length = sizeof(sockaddr_in6);
    return a;
  }
  return std::nullopt;
}

std::string peer_name(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = "-";
  if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, text, sizeof text);
  else if (ss.ss_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, text, sizeof text);
  return text;
}

bool set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

}  // namespace

std::unique_ptr<Server> Server::try_create(const Options& options, std::string& error) {
  struct stat root;
  if (::stat(options.root.c_str(), &root) != 0 || !S_ISDIR(root.st_mode)) {
    error = "document root '" + options.root + "' is not a directory";
    return nullptr;
  }
  std::string where = listen_address(options);
  auto addr = make_address(options.addr, options.port);
  if (!addr) {
    error = "bad listen address '" + options.addr + "'";
    return nullptr;
  }
  UniqueFd fd(::socket(addr->storage.ss_family, SOCK_STREAM, 0));
  if (!fd.valid()) {
    error = std::string("cannot create socket: ") + strerror(errno);
    return nullptr;
  }
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr->storage), addr->length) != 0) {
    error = "cannot bind " + where + ": " + strerror(errno);
    return nullptr;
  }
  if (::listen(fd.get(), k_listen_backlog) != 0 || !set_nonblocking(fd.get())) {
    error = "cannot listen on " + where + ": " + strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<Server>(new Server(options, std::move(fd)));
}

Server::Server(const Options& options, UniqueFd listener)
    : m_options(options),
      m_listener(std::move(listener)),
      m_files(options.root),
      m_handler(m_files),
      m_log(!options.quiet),
      m_budget(options.memory_budget ? options.memory_budget : default_memory_budget()),
      m_scratch(k_scratch_size) {}

void Server::refresh_clock() {
  m_now_us = monotonic_us();
  time_t wall = wall_seconds();
  if (wall != m_wall || m_date.empty()) {
    m_wall = wall;
    m_date = format_http_date(m_wall);
  }
}

ConnContext Server::context() {
  return ConnContext{m_handler, m_log, m_options, m_limits, m_scratch, m_now_us, Now{m_wall, m_date}};
}

int Server::poll_timeout_ms(uint64_t now_us) const {
  uint64_t next = UINT64_MAX;
  for (const auto& c : m_conns) next = std::min(next, c->deadline_us());
  if (m_accept_paused_until > now_us) next = std::min(next, m_accept_paused_until);
  if (next == UINT64_MAX) return -1;
  if (next <= now_us) return 0;
  // Round up so we never wake just before a deadline and spin.
  uint64_t ms = (next - now_us + 999) / 1000;
  return ms > 60'000 ? 60'000 : static_cast<int>(ms);
}

void Server::accept_new(uint64_t now_us) {
  for (int i = 0; i < k_accepts_per_turn; ++i) {
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof peer;
    int fd = ::accept(m_listener.get(), reinterpret_cast<sockaddr*>(&peer), &peer_len);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors: the pending connection stays queued; retry shortly
      // instead of spinning on a listener that stays readable.
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
        m_accept_paused_until = now_us + k_accept_pause_us;
      return;
    }
    UniqueFd conn(fd);
    // Over the limit: accept and close at once, so clients fail fast instead of
    // waiting in the backlog.
    if (m_conns.size() >= m_options.max_conns || !set_nonblocking(fd)) continue;
    admit(std::move(conn), peer, now_us);
  }
}

// Within the memory budget a connection is served; beyond it, while a small
// overdraft lasts, it is answered 503 and closed, and past that closed at once.
void Server::admit(UniqueFd conn, const sockaddr_storage& peer, uint64_t now_us) {
  auto admission = m_budget.admit(Connection::admission_bytes(m_limits));
  if (admission == MemoryBudget::Admission::Drop) return;
  int one = 1;
  setsockopt(conn.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto c = std::make_unique<Connection>(std::move(conn), peer_name(peer), now_us, m_options, m_budget);
  if (admission == MemoryBudget::Admission::Refuse) {
    ConnContext ctx = context();
    if (c->refuse(ctx) == Connection::Next::Close) return;
  }
  m_conns.push_back(std::move(c));
}

int Server::run() {
  for (;;) {
    refresh_clock();
    bool listening = m_accept_paused_until <= m_now_us;
    m_pollfds.clear();
    m_pollfds.push_back({m_listener.get(), static_cast<short>(listening ? POLLIN : 0), 0});
    for (const auto& c : m_conns) m_pollfds.push_back({c->fd(), c->poll_events(), 0});

    int ready = ::poll(m_pollfds.data(), static_cast<nfds_t>(m_pollfds.size()), poll_timeout_ms(m_now_us));
    if (ready < 0 && errno != EINTR) {
      m_log.flush();
      return 1;
    }
    refresh_clock();
    ConnContext ctx = context();

    // Connections are visited in poll order; a closed one is reset in place and
    // swept afterwards, so indices stay aligned with m_pollfds.
    size_t polled = m_pollfds.size() - 1;
    for (size_t i = 0; i < polled; ++i) {
      auto& c = m_conns[i];
      short revents = m_pollfds[i + 1].revents;
      bool close = revents != 0 && c->on_events(revents, ctx) == Connection::Next::Close;
      // Deadlines are checked even for a busy connection, or a client dripping a
      // byte at a time would never time out.
      if (!close && c->deadline_us() <= m_now_us) close = c->on_deadline(ctx) == Connection::Next::Close;
      if (close) c.reset();
    }
    std::erase(m_conns, nullptr);
    if (m_pollfds[0].revents & POLLIN) accept_new(m_now_us);
    m_log.flush();
  }
}

}  // namespace atl::httpd
