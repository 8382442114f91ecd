#include "frame_port.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace atl::hv {
namespace {
// Frames taken per wake-up before the loop serves others.
constexpr int kBatch = 64;
constexpr int kFullWaitMs = 5;
// A stream port reads this much at a time (many frames per read), and holds
// at most kMaxQueued bytes of frames its socket has not taken yet.
constexpr size_t kStreamBuffer = 256 << 10;
constexpr size_t kMaxQueued = 4 << 20;
constexpr size_t kLengthSize = 4;
constexpr size_t kMinFrame = 14;  // an Ethernet header

uint32_t load_be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
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
  static_assert(kStreamBuffer >= kLengthSize + kMaxFrame);
  if (framing == Framing::kLengthPrefixed) self->m_buf.resize(kStreamBuffer);
  if (!loop.add_fd(fd, EPOLLIN, [self](uint32_t events) { self->on_events(events); })) {
    close(fd);
    return nullptr;
  }
  return port;
}

FramePort::~FramePort() {
  m_interceptor.reset();  // it may still deliver through this port
  m_loop.remove_fd(m_fd);
  close(m_fd);
  if (m_on_close) m_on_close();
}

bool FramePort::send(std::span<const uint8_t> frame, const FrameOffload& offload) {
  return send(std::span<const std::span<const uint8_t>>(&frame, 1), offload);
}

bool FramePort::send(std::span<const std::span<const uint8_t>> pieces, const FrameOffload& offload) {
  if (pieces.size() == 1 && offer_to_interceptor(pieces[0])) return true;
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
  uint8_t length[kLengthSize];
  if (carries_offload()) iov[count++] = {&hdr, sizeof hdr};
  if (m_framing == Framing::kLengthPrefixed) iov[count++] = {length, sizeof length};
  for (std::span<const uint8_t> p : pieces) iov[count++] = {const_cast<uint8_t*>(p.data()), p.size()};
  for (int i = 0; i < count; ++i) want += iov[i].iov_len;
  if (m_framing == Framing::kLengthPrefixed) {
    uint32_t n = static_cast<uint32_t>(want - kLengthSize);
    length[0] = uint8_t(n >> 24), length[1] = uint8_t(n >> 16), length[2] = uint8_t(n >> 8), length[3] = uint8_t(n);
    return send_stream(iov, count, want);
  }
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

// A stream takes what fits; the rest of a frame waits in m_out, and frames
// after it queue behind it, so the stream never carries half a frame.
bool FramePort::send_stream(const iovec* iov, int count, size_t want) {
  size_t queued = m_out.size() - m_out_at;
  if (queued + want > kMaxQueued) {
    ++m_dropped;
    return false;
  }
  size_t sent = 0;
  if (queued == 0) {
    ssize_t n = writev(m_fd, iov, count);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      ++m_dropped;
      return false;
    }
    sent = n > 0 ? static_cast<size_t>(n) : 0;
    if (sent == want) return true;
    m_out.clear();
    m_out_at = 0;
  }
  for (int i = 0; i < count; ++i) {
    const uint8_t* p = static_cast<const uint8_t*>(iov[i].iov_base);
    size_t skip = std::min(sent, iov[i].iov_len);
    sent -= skip;
    m_out.insert(m_out.end(), p + skip, p + iov[i].iov_len);
  }
  if (queued == 0) update_events();  // now waiting to write
  return true;
}

void FramePort::flush_stream() {
  while (m_out_at < m_out.size()) {
    ssize_t n = write(m_fd, m_out.data() + m_out_at, m_out.size() - m_out_at);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return hang_up();
    m_out_at += static_cast<size_t>(n);
  }
  m_out.clear();
  m_out_at = 0;
  update_events();
}

void FramePort::read_stream() {
  for (int i = 0; i < kBatch && !m_paused; ++i) {
    ssize_t n = read(m_fd, m_buf.data() + m_in_len, m_buf.size() - m_in_len);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) return hang_up();
    m_in_len += static_cast<size_t>(n);
    cut_frames();
  }
}

void FramePort::cut_frames() {
  size_t at = 0;
  while (!m_paused && m_in_len - at >= kLengthSize) {
    uint32_t length = load_be32(m_buf.data() + at);
    // A length no frame has: the stream has lost its framing for good.
    if (length < kMinFrame || length > kMaxFrame) {
      fprintf(stderr, "atoll: %s: a frame of %u bytes: not the stream protocol\n", m_what.c_str(), length);
      m_in_len = 0;
      return hang_up();
    }
    if (m_in_len - at - kLengthSize < length) break;
    receive(std::span<const uint8_t>(m_buf.data() + at + kLengthSize, length));
    at += kLengthSize + length;
  }
  // Unless paused, what is left is less than a frame: the next read has room.
  memmove(m_buf.data(), m_buf.data() + at, m_in_len - at);
  m_in_len -= at;
}

void FramePort::update_events() {
  if (m_hung_up) return;
  bool pending = m_out_at < m_out.size();
  uint32_t events = (m_paused ? 0u : uint32_t(EPOLLIN)) | (pending ? uint32_t(EPOLLOUT) : 0u);
  m_loop.modify_fd(m_fd, events);
}

void FramePort::set_paused(bool paused) {
  if (paused == m_paused) return;
  m_paused = paused;
  if (!paused && m_framing == Framing::kLengthPrefixed) cut_frames();  // what was held first
  update_events();
  if (!paused && m_interceptor) m_interceptor->on_resumed();
}

void FramePort::hang_up() {
  m_hung_up = true;
  m_loop.remove_fd(m_fd);
  if (m_on_hangup) m_on_hangup();
}

void FramePort::on_events(uint32_t events) {
  // epoll reports a hangup even while nothing is asked for: a paused port
  // would hear of it forever. The far end is gone; what it sent last is too.
  if (m_paused && (events & (EPOLLHUP | EPOLLERR))) return hang_up();
  if (m_framing != Framing::kLengthPrefixed) return on_readable(events);
  if (events & EPOLLOUT) flush_stream();
  if (!m_hung_up && !m_paused && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) read_stream();
}

void FramePort::on_readable(uint32_t) {
  for (int i = 0; i < kBatch && !m_paused; ++i) {
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
    return hang_up();
  }
  // A full batch: the level-triggered loop calls again for the rest.
}

}  // namespace atl::hv
