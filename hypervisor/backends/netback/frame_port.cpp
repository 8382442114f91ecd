#include "frame_port.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace atl::hv {
namespace {
// Frames taken per wake-up before the loop serves others.
constexpr int kBatch = 64;
constexpr int kFullWaitMs = 5;
}  // namespace

VirtioNetHdr to_virtio_net_hdr(const FrameOffload& offload) {
  VirtioNetHdr h{};
  if (offload.partial_csum) {
    h.flags = kVirtioNetHdrNeedsCsum;
    h.csum_start = offload.csum_start;
    h.csum_offset = offload.csum_offset;
  }
  if (offload.gso != GsoType::kNone) {
    h.gso_type = offload.gso == GsoType::kTcpV4 ? kVirtioGsoTcpV4 : kVirtioGsoTcpV6;
    if (offload.gso_ecn) h.gso_type |= kVirtioGsoEcn;
    h.gso_size = offload.gso_size;
    h.hdr_len = offload.hdr_len;
  }
  return h;
}

std::optional<FrameOffload> from_virtio_net_hdr(const VirtioNetHdr& hdr) {
  FrameOffload o;
  if (hdr.flags & kVirtioNetHdrNeedsCsum) {
    o.partial_csum = true;
    o.csum_start = hdr.csum_start;
    o.csum_offset = hdr.csum_offset;
  }
  switch (hdr.gso_type & ~kVirtioGsoEcn) {
    case kVirtioGsoNone: return o;
    case kVirtioGsoTcpV4: o.gso = GsoType::kTcpV4; break;
    case kVirtioGsoTcpV6: o.gso = GsoType::kTcpV6; break;
    default: return std::nullopt;
  }
  o.gso_ecn = (hdr.gso_type & kVirtioGsoEcn) != 0;
  o.gso_size = hdr.gso_size;
  o.hdr_len = hdr.hdr_len;
  return o;
}

std::unique_ptr<FramePort> FramePort::adopt(EventLoop& loop, int fd, std::string what, Framing framing) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::unique_ptr<FramePort> port(new FramePort(loop, fd, std::move(what), framing));
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

bool FramePort::send(std::span<const uint8_t> frame, const FrameOffload& offload) {
  return send(std::span<const std::span<const uint8_t>>(&frame, 1), offload);
}

bool FramePort::send(std::span<const std::span<const uint8_t>> pieces, const FrameOffload& offload) {
  if (m_hung_up) return false;
  if ((!carries_offload() && !offload.none()) || pieces.size() > kMaxPieces) {
    ++m_dropped;
    return false;
  }
  VirtioNetHdr hdr = to_virtio_net_hdr(offload);
  // One writev is one message: the header and its frame never come apart.
  iovec iov[1 + kMaxPieces];
  int count = 0;
  size_t want = 0;
  if (carries_offload()) iov[count++] = {&hdr, sizeof hdr};
  for (std::span<const uint8_t> p : pieces) iov[count++] = {const_cast<uint8_t*>(p.data()), p.size()};
  for (int i = 0; i < count; ++i) want += iov[i].iov_len;
  for (int attempt = 0; attempt < 2; ++attempt) {
    ssize_t n = writev(m_fd, iov, count);
    if (n == static_cast<ssize_t>(want)) return true;
    if (n >= 0 || errno != EAGAIN) break;
    // Full: give the reader a moment rather than drop at once (a drop costs a
    // TCP retransmission timeout); never longer than kFullWaitMs.
    pollfd p{m_fd, POLLOUT, 0};
    if (poll(&p, 1, kFullWaitMs) != 1) break;
  }
  ++m_dropped;
  return false;
}

void FramePort::receive(std::span<const uint8_t> message) {
  if (!m_receiver) return;
  if (!carries_offload()) return m_receiver(message, FrameOffload{});
  VirtioNetHdr hdr;
  if (message.size() < sizeof hdr) {
    ++m_dropped;
    return;
  }
  memcpy(&hdr, message.data(), sizeof hdr);
  std::optional<FrameOffload> offload = from_virtio_net_hdr(hdr);
  if (!offload) {
    ++m_dropped;
    return;
  }
  m_receiver(message.subspan(sizeof hdr), *offload);
}

void FramePort::on_readable(uint32_t) {
  for (int i = 0; i < kBatch; ++i) {
    ssize_t n = read(m_fd, m_buf.data(), m_buf.size());
    if (n > 0) {
      if (static_cast<size_t>(n) == m_buf.size())
        ++m_dropped;  // truncated: larger than any frame we take
      else
        receive(std::span<const uint8_t>(m_buf.data(), static_cast<size_t>(n)));
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
