#include "xs_socket.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "clock.h"

namespace atl::hv::xs {

namespace {

constexpr size_t kReadChunk = 64 * 1024;

}  // namespace

SocketConnection::SocketConnection(Core& core, SocketServer& server, EventLoop& loop, int fd)
    : Connection(kDom0, core.flush_list()), m_core(core), m_server(server), m_loop(loop), m_fd(fd) {
  set_output_limit(core.options().max_output_bytes);
  m_interest = EPOLLIN;
  m_loop.add_fd(m_fd, m_interest, [this](uint32_t events) { on_io(events); });
}

SocketConnection::~SocketConnection() {
  m_core.disconnect(*this);
  m_loop.remove_fd(m_fd);
  close(m_fd);
}

void SocketConnection::on_io(uint32_t events) {
  if (closed()) return;
  if (events & EPOLLOUT) flush();
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_requests();
  m_core.flush();
  if (closed()) m_server.schedule_reap();
}

// One chunk per readiness event, so a chatty client cannot starve the others;
// epoll (level-triggered) calls again while more is waiting.
void SocketConnection::read_requests() {
  std::vector<char> buf(kReadChunk);
  ssize_t n = read(m_fd, buf.data(), buf.size());
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
    m_closed = true;
    return;
  }
  size_t off = 0;
  size_t len = n > 0 ? static_cast<size_t>(n) : 0;
  while (off < len && !closed()) {
    off += m_in.feed(buf.data() + off, len - off);
    if (m_in.broken()) {
      m_closed = true;  // a length beyond XENSTORE_PAYLOAD_MAX: xenstored hangs up too
      return;
    }
    if (m_in.ready()) m_core.handle(*this, m_in.take());
  }
}

void SocketConnection::flush() {
  while (!m_out.empty() && !closed()) {
    const std::string& front = m_out.front();
    ssize_t n = ::send(m_fd, front.data() + m_out_offset, front.size() - m_out_offset,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) m_closed = true;
      break;
    }
    consumed(static_cast<size_t>(n));
  }
  if (closed()) return m_server.schedule_reap();
  update_interest();
}

// Reads wait while too many replies are queued for a client that does not
// read them; writes are watched only while output is queued.
void SocketConnection::update_interest() {
  uint32_t want = 0;
  if (pending_output() < m_core.options().output_pause_bytes) want |= EPOLLIN;
  if (pending_output() > 0) want |= EPOLLOUT;
  if (want == m_interest) return;
  m_interest = want;
  m_loop.modify_fd(m_fd, want);
}

SocketServer::~SocketServer() {
  if (m_reap_timer) m_loop.cancel_timer(*m_reap_timer);
  m_conns.clear();
  if (m_listen_fd >= 0) {
    m_loop.remove_fd(m_listen_fd);
    close(m_listen_fd);
    unlink(m_path.c_str());
  }
}

bool SocketServer::listen(const std::string& path, std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (m_listen_fd >= 0) return error = "already listening on " + m_path, false;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return error = "socket path is empty or too long: " + path, false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return error = std::string("socket: ") + strerror(errno), false;
  unlink(path.c_str());
  // Owner-only before listen(): nobody can connect in between.
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      chmod(path.c_str(), 0600) != 0 || ::listen(fd, 64) != 0) {
    error = path + ": " + strerror(errno);
    close(fd);
    return false;
  }
  if (!m_loop.add_fd(fd, EPOLLIN, [this](uint32_t) { accept_all(); })) {
    error = "cannot watch the listening socket";
    close(fd);
    unlink(path.c_str());
    return false;
  }
  m_listen_fd = fd;
  m_path = path;
  return true;
}

void SocketServer::accept_all() {
  while (true) {
    int fd = accept4(m_listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    m_conns[fd] = std::make_unique<SocketConnection>(m_core, *this, m_loop, fd);
  }
}

void SocketServer::schedule_reap() {
  if (m_reap_timer) return;
  m_reap_timer = m_loop.add_timer(monotonic_ns(), [this] {
    m_reap_timer.reset();
    reap();
  });
}

void SocketServer::reap() {
  for (auto it = m_conns.begin(); it != m_conns.end();) {
    if (it->second->closed()) it = m_conns.erase(it);
    else ++it;
  }
}

}  // namespace atl::hv::xs
