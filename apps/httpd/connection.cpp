#include "connection.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "clock.h"

namespace atl::httpd {
namespace {

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0  // a stack without SIGPIPE needs no flag
#endif

// After our last reply on a closing connection: how long, and how much, we keep
// reading so the client's unread request bytes do not turn our close into a reset
// that destroys the reply in flight.
constexpr uint64_t k_linger_us = 2'000'000;
constexpr uint64_t k_linger_max_bytes = 1024 * 1024;

// One connection sends at most this much per turn of the loop, then lets the
// others have theirs; poll() reports it writable again at once.
constexpr uint64_t k_max_flush_bytes = 1024 * 1024;

constexpr uint64_t us_from_ms(uint64_t ms) { return ms * 1000; }

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

}  // namespace

Connection::Connection(UniqueFd fd, std::string peer, uint64_t now_us, const Options& options, MemoryBudget& budget)
    : m_fd(std::move(fd)),
      m_peer(std::move(peer)),
      m_deadline_us(now_us + us_from_ms(options.header_timeout_ms)),
      m_charge(budget) {
  m_charge.set(k_fixed_bytes + sizeof(Connection));
}

uint64_t Connection::admission_bytes(const ParseLimits& limits) {
  return k_fixed_bytes + sizeof(Connection) + limits.max_request_line + limits.max_header_fields;
}

// After each event the budget learns what this connection now holds.
Connection::Next Connection::charged(Next next) {
  m_charge.set(k_fixed_bytes + sizeof(Connection) + m_peer.capacity() + m_in.capacity() + m_reply.out.capacity());
  return next;
}

Connection::Next Connection::refuse(ConnContext& ctx) {
  start_reply(Handler::error(Status::ServiceUnavailable, ctx.now, true), ctx);
  return charged(advance(ctx));
}

short Connection::poll_events() const { return m_state == State::Writing ? POLLOUT : POLLIN; }

Connection::Next Connection::on_events(short revents, ConnContext& ctx) {
  if (revents & (POLLERR | POLLNVAL)) {
    abort(ctx);
    return Next::Close;
  }
  if (m_state != State::Writing && (revents & (POLLIN | POLLHUP)) && receive(ctx) == Next::Close) return Next::Close;
  return charged(advance(ctx));
}

Connection::Next Connection::on_deadline(ConnContext& ctx) {
  if (m_state == State::Reading && !m_in.empty()) {
    // A head that did not arrive in time (a slow or stalled sender): say so.
    m_in.clear();
    m_have_request = false;
    start_reply(Handler::error(Status::RequestTimeout, ctx.now, true), ctx);
    return charged(advance(ctx));
  }
  // Idle between requests, a stalled reader, or the end of lingering: just close.
  abort(ctx);
  return Next::Close;
}

void Connection::abort(ConnContext& ctx) {
  if (m_state != State::Writing) return;
  // Log how much of the body actually left before the connection ended.
  uint64_t memory_body = m_reply.file_length > 0 ? 0 : m_reply.body_bytes;
  uint64_t head = m_reply.out.size() - memory_body;
  log_reply(ctx, (m_out_sent > head ? m_out_sent - head : 0) + m_file_sent);
  m_state = State::Lingering;
}

Connection::Next Connection::receive(ConnContext& ctx) {
  ssize_t n = ::recv(m_fd.get(), ctx.scratch.data(), ctx.scratch.size(), 0);
  if (n < 0) return errno == EINTR || would_block(errno) ? Next::Keep : Next::Close;
  if (n == 0) {
    m_peer_eof = true;
    return m_state == State::Lingering ? Next::Close : Next::Keep;
  }
  size_t got = static_cast<size_t>(n);
  if (m_state == State::Lingering) {
    m_lingered += got;
    return m_lingered > k_linger_max_bytes ? Next::Close : Next::Keep;
  }
  const char* data = ctx.scratch.data();
  if (m_skip_body > 0) {
    size_t drop = static_cast<size_t>(std::min<uint64_t>(m_skip_body, got));
    m_skip_body -= drop;
    data += drop;
    got -= drop;
    m_deadline_us = ctx.now_us + us_from_ms(ctx.options.idle_timeout_ms);
  }
  if (got > 0) {
    if (m_in.empty()) {
      // The first byte of a new request starts its header clock.
      m_request_start_us = ctx.now_us;
      m_deadline_us = ctx.now_us + us_from_ms(ctx.options.header_timeout_ms);
    }
    m_in.append(data, got);
  }
  return Next::Keep;
}

Connection::Next Connection::advance(ConnContext& ctx) {
  for (;;) {
    switch (m_state) {
      case State::Lingering:
        return Next::Keep;
      case State::Writing: {
        Flush f = flush(ctx);
        if (f == Flush::Failed) {
          abort(ctx);
          return Next::Close;
        }
        if (f == Flush::Blocked) return Next::Keep;
        if (finish_reply(ctx) == Next::Close) return Next::Close;
        break;
      }
      case State::Reading:
        // Answer every complete request already buffered, in order, one at a time.
        if (!m_in.empty()) take_request(ctx);
        if (m_state == State::Reading) return m_peer_eof ? Next::Close : Next::Keep;
        break;
    }
  }
}

void Connection::take_request(ConnContext& ctx) {
  ParseResult r = parse_request(m_in, m_request, ctx.limits);
  if (r.state == ParseState::Incomplete) return;
  if (r.state == ParseState::Failed) {
    m_have_request = !m_request.method.empty();
    m_in.clear();
    start_reply(Handler::error(r.error, ctx.now, true, m_have_request ? &m_request : nullptr), ctx);
    return;
  }
  m_have_request = true;
  m_in.erase(0, r.consumed);
  Reply reply = ctx.handler.handle(m_request, ctx.now);
  if (!reply.close_after) {
    // Drop the request body (the reply never depends on it) to reach the next request.
    m_skip_body = m_request.content_length;
    size_t drop = static_cast<size_t>(std::min<uint64_t>(m_skip_body, m_in.size()));
    m_in.erase(0, drop);
    m_skip_body -= drop;
  }
  start_reply(std::move(reply), ctx);
}

void Connection::start_reply(Reply reply, ConnContext& ctx) {
  m_reply = std::move(reply);
  m_out_sent = 0;
  m_file_sent = 0;
  m_state = State::Writing;
  m_deadline_us = ctx.now_us + us_from_ms(ctx.options.idle_timeout_ms);
}

// Sends what the socket takes now. A cached file's body goes straight from its
// contents; a streamed one through the shared scratch buffer chunk by chunk,
// and bytes the socket refused are read again on the next POLLOUT, so a
// connection holds no file data between calls.
Connection::Flush Connection::flush(ConnContext& ctx) {
  uint64_t progress_deadline = ctx.now_us + us_from_ms(ctx.options.idle_timeout_ms);
  uint64_t turn_end = m_file_sent + k_max_flush_bytes;
  while (m_out_sent < m_reply.out.size() || m_file_sent < m_reply.file_length) {
    if (m_file_sent >= turn_end) return Flush::Blocked;
    // The head and the body's first chunk in one call: with TCP_NODELAY two
    // sends would be two segments, and a small file fits one with its head.
    // lwIP refuses an empty piece, so only the non-empty ones go.
    iovec iov[2];
    size_t pieces = 0;
    size_t head_left = m_reply.out.size() - m_out_sent;
    if (head_left > 0) iov[pieces++] = {m_reply.out.data() + m_out_sent, head_left};
    uint64_t body_at = m_reply.file_offset + m_file_sent;
    uint64_t body_left = std::min(m_reply.file_length - m_file_sent, turn_end - m_file_sent);
    if (body_left > 0 && m_reply.cached) {
      iov[pieces++] = {const_cast<char*>(m_reply.cached->data()) + body_at, static_cast<size_t>(body_left)};
    } else if (body_left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(ctx.scratch.size(), body_left));
      ssize_t got = ::pread(m_reply.file.get(), ctx.scratch.data(), want, static_cast<off_t>(body_at));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) return Flush::Failed;  // the file shrank: the promised length cannot be kept
      iov[pieces++] = {ctx.scratch.data(), static_cast<size_t>(got)};
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = pieces;
    ssize_t n = ::sendmsg(m_fd.get(), &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return would_block(errno) ? Flush::Blocked : Flush::Failed;
    }
    size_t head = std::min(static_cast<size_t>(n), head_left);
    m_out_sent += head;
    m_file_sent += static_cast<uint64_t>(n) - head;
    m_deadline_us = progress_deadline;
    size_t offered = 0;
    for (size_t i = 0; i < pieces; ++i) offered += iov[i].iov_len;
    if (static_cast<size_t>(n) < offered) return Flush::Blocked;  // the socket buffer is full
  }
  return Flush::Done;
}

Connection::Next Connection::finish_reply(ConnContext& ctx) {
  log_reply(ctx, m_reply.body_bytes);
  bool close = m_reply.close_after;
  m_reply = Reply{};  // closes the file
  m_have_request = false;
  if (close) {
    if (m_peer_eof) return Next::Close;
    ::shutdown(m_fd.get(), SHUT_WR);
    m_in.clear();
    m_state = State::Lingering;
    m_deadline_us = ctx.now_us + k_linger_us;
    return Next::Keep;
  }
  m_state = State::Reading;
  if (m_in.empty()) {
    // An idle connection keeps no large head buffer: a thousand of them
    // kept alive after big requests would otherwise hold the heap.
    if (m_in.capacity() > k_idle_buffer_bytes) std::string().swap(m_in);
    m_deadline_us = ctx.now_us + us_from_ms(ctx.options.idle_timeout_ms);
  } else {
    // A pipelined request is already waiting; its clock starts now.
    m_request_start_us = ctx.now_us;
    m_deadline_us = ctx.now_us + us_from_ms(ctx.options.header_timeout_ms);
  }
  return Next::Keep;
}

void Connection::log_reply(ConnContext& ctx, uint64_t body_sent) {
  if (!ctx.log.enabled()) return;
  // A fresh reading: ctx.now_us is from before the work this reply took.
  ctx.log.record({m_peer, m_have_request ? &m_request : nullptr, m_reply.status, body_sent,
                  monotonic_us() - m_request_start_us, ctx.now.wall});
}

}  // namespace atl::httpd
