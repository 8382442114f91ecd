#include "frame_port.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>

namespace atl::hv {
namespace {
// Frames taken per wake-up before the loop serves others.
constexpr int kBatch = 64;
constexpr int kFullWaitMs = 5;
}  // namespace

std::unique_ptr<FramePort> FramePort::adopt(EventLoop& loop, int fd, std::string what) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::unique_ptr<FramePort> port(new FramePort(loop, fd, std::move(what)));
  FramePort* self = port.get();
  if (!loop.add_fd(fd, EPOLLIN, [self](uint32_t events) { self->on_readable(events); })) {
    close(fd);
    return nullptr;
  }
  return port;
}

FramePort::~FramePort() {
  m_loop.remove_fd(m_fd);
  close(m_fd);
}

bool FramePort::send(std::span<const uint8_t> frame) {
  if (m_hung_up) return false;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t n = write(m_fd, frame.data(), frame.size());
    if (n == static_cast<ssize_t>(frame.size())) return true;
    if (n >= 0 || errno != EAGAIN) break;
    // Full: give the reader a moment rather than drop at once (a drop costs a
    // TCP retransmission timeout); never longer than kFullWaitMs.
    pollfd p{m_fd, POLLOUT, 0};
    if (poll(&p, 1, kFullWaitMs) != 1) break;
  }
  ++m_dropped;
  return false;
}

void FramePort::on_readable(uint32_t) {
  for (int i = 0; i < kBatch; ++i) {
    ssize_t n = read(m_fd, m_buf.data(), m_buf.size());
    if (n > 0) {
      if (m_receiver) m_receiver(std::span<const uint8_t>(m_buf.data(), static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    // EOF (nobody sends empty frames) or an error: the other end is gone.
    m_hung_up = true;
    m_loop.remove_fd(m_fd);
    if (m_on_hangup) m_on_hangup();
    return;
  }
  // A full batch: the level-triggered loop calls again for the rest.
}

}  // namespace atl::hv
