// FramePort's offload metadata: the VirtioNetHdr conversions both ways, and
// a port over a SOCK_SEQPACKET socket pair standing in for a TAP opened with
// IFF_VNET_HDR (one message = header + frame), driven by a real EventLoop; and
// the length-prefixed stream port passt speaks to.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "frame_port.h"

using namespace atl::hv;

namespace {

using Bytes = std::vector<uint8_t>;

FrameOffload tso(GsoType type) {
  FrameOffload o;
  o.partial_csum = true;
  o.csum_start = 34;
  o.csum_offset = 16;
  o.gso = type;
  o.gso_size = 1448;
  o.hdr_len = 66;
  return o;
}

bool same(const FrameOffload& a, const FrameOffload& b) {
  return a.partial_csum == b.partial_csum && a.csum_start == b.csum_start && a.csum_offset == b.csum_offset &&
         a.gso == b.gso && a.gso_size == b.gso_size && a.hdr_len == b.hdr_len && a.gso_ecn == b.gso_ecn;
}

}  // namespace

TEST(VirtioNetHeader, TsoV4) {
  VirtioNetHdr h = to_virtio_net_hdr(tso(GsoType::kTcpV4));
  EXPECT_EQ(h.flags, kVirtioNetHdrNeedsCsum);
  EXPECT_EQ(h.gso_type, kVirtioGsoTcpV4);
  EXPECT_EQ(h.csum_start, 34);
  EXPECT_EQ(h.csum_offset, 16);
  EXPECT_EQ(h.gso_size, 1448);
  EXPECT_EQ(h.hdr_len, 66);
}

TEST(VirtioNetHeader, RoundTrips) {
  FrameOffload v6 = tso(GsoType::kTcpV6);
  v6.gso_ecn = true;
  FrameOffload csum_only;
  csum_only.partial_csum = true;
  csum_only.csum_start = 54;
  csum_only.csum_offset = 6;
  for (const FrameOffload& o : {FrameOffload{}, tso(GsoType::kTcpV4), v6, csum_only}) {
    auto back = from_virtio_net_hdr(to_virtio_net_hdr(o));
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(same(*back, o));
  }
  EXPECT_EQ(to_virtio_net_hdr(v6).gso_type, kVirtioGsoTcpV6 | kVirtioGsoEcn);
  VirtioNetHdr none = to_virtio_net_hdr({});
  EXPECT_EQ(none.flags, 0);
  EXPECT_EQ(none.gso_type, kVirtioGsoNone);
}

TEST(VirtioNetHeader, SegmentationWeNeverAskedForIsRefused) {
  VirtioNetHdr h{};
  h.gso_type = kVirtioGsoUdp;
  EXPECT_FALSE(from_virtio_net_hdr(h).has_value());
  h.gso_type = 5;  // VIRTIO_NET_HDR_GSO_UDP_L4
  EXPECT_FALSE(from_virtio_net_hdr(h).has_value());
  h.gso_type = 2;
  EXPECT_FALSE(from_virtio_net_hdr(h).has_value());
  h.flags = kVirtioNetHdrDataValid;
  h.gso_type = kVirtioGsoNone;
  auto o = from_virtio_net_hdr(h);
  ASSERT_TRUE(o.has_value());
  EXPECT_TRUE(o->none()) << "data-valid needs nothing done";
}

namespace {

struct PortPair {
  EventLoop loop;
  int peer = -1;
  std::unique_ptr<FramePort> port;
  std::vector<std::pair<Bytes, FrameOffload>> got;

  explicit PortPair(Framing framing) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) return;
    int big = 1 << 20;
    for (int fd : sv) {
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    }
    peer = sv[1];
    port = FramePort::adopt(loop, sv[0], "test", framing);
    port->set_receiver([this](std::span<const uint8_t> f, const FrameOffload& o) { got.emplace_back(Bytes(f.begin(), f.end()), o); });
  }
  ~PortPair() {
    port.reset();
    if (peer >= 0) close(peer);
  }
  Bytes read_peer() {
    Bytes buf(FramePort::kMaxFrame + 64);
    ssize_t n = recv(peer, buf.data(), buf.size(), MSG_DONTWAIT);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }
  void write_peer(const Bytes& message) { ASSERT_EQ(send(peer, message.data(), message.size(), 0), ssize_t(message.size())); }
};

Bytes frame_of(size_t n) {
  Bytes f(n);
  for (size_t i = 0; i < n; ++i) f[i] = static_cast<uint8_t>(i);
  return f;
}

}  // namespace

TEST(FramePortVnet, SendPutsTheHeaderAndFrameInOneMessage) {
  PortPair p(Framing::kVirtioNetHdr);
  ASSERT_TRUE(p.port);
  EXPECT_TRUE(p.port->carries_offload());
  Bytes frame = frame_of(30000);
  ASSERT_TRUE(p.port->send(frame, tso(GsoType::kTcpV4)));
  Bytes msg = p.read_peer();
  ASSERT_EQ(msg.size(), sizeof(VirtioNetHdr) + frame.size());
  VirtioNetHdr h;
  memcpy(&h, msg.data(), sizeof h);
  EXPECT_EQ(h.gso_type, kVirtioGsoTcpV4);
  EXPECT_EQ(h.gso_size, 1448);
  EXPECT_EQ(h.flags, kVirtioNetHdrNeedsCsum);
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), msg.begin() + sizeof h));

  ASSERT_TRUE(p.port->send(frame_of(60)));
  msg = p.read_peer();
  ASSERT_EQ(msg.size(), sizeof(VirtioNetHdr) + 60);
  memcpy(&h, msg.data(), sizeof h);
  EXPECT_EQ(h.flags, 0);
  EXPECT_EQ(h.gso_type, kVirtioGsoNone);
}

TEST(FramePortVnet, GatheredPiecesAreOneMessage) {
  PortPair p(Framing::kVirtioNetHdr);
  ASSERT_TRUE(p.port);
  Bytes frame = frame_of(9000);
  std::span<const uint8_t> whole(frame);
  std::span<const uint8_t> pieces[] = {whole.subspan(0, 66), whole.subspan(66, 4030), whole.subspan(4096)};
  ASSERT_TRUE(p.port->send(pieces, tso(GsoType::kTcpV4)));
  Bytes msg = p.read_peer();
  ASSERT_EQ(msg.size(), sizeof(VirtioNetHdr) + frame.size());
  VirtioNetHdr h;
  memcpy(&h, msg.data(), sizeof h);
  EXPECT_EQ(h.gso_type, kVirtioGsoTcpV4);
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), msg.begin() + sizeof h));

  std::vector<std::span<const uint8_t>> too_many(FramePort::kMaxPieces + 1, whole.subspan(0, 1));
  EXPECT_FALSE(p.port->send(too_many));
  EXPECT_EQ(p.port->dropped(), 1u);
}

TEST(FramePortVnet, ReceiveSplitsTheHeaderOff) {
  PortPair p(Framing::kVirtioNetHdr);
  ASSERT_TRUE(p.port);
  VirtioNetHdr h = to_virtio_net_hdr(tso(GsoType::kTcpV6));
  Bytes frame = frame_of(FramePort::kMaxFrame);  // the largest frame taken
  Bytes msg(sizeof h);
  memcpy(msg.data(), &h, sizeof h);
  msg.insert(msg.end(), frame.begin(), frame.end());
  p.write_peer(msg);
  p.write_peer(Bytes(5, 0));  // shorter than a header: dropped
  VirtioNetHdr udp{};
  udp.gso_type = kVirtioGsoUdp;
  Bytes bad(sizeof udp);
  memcpy(bad.data(), &udp, sizeof udp);
  bad.resize(sizeof udp + 100);
  p.write_peer(bad);  // UFO, never asked for: dropped
  Bytes over(sizeof h + FramePort::kMaxFrame + 1, 0);
  p.write_peer(over);  // larger than any frame: dropped, not truncated
  p.loop.run_once(1000);
  ASSERT_EQ(p.got.size(), 1u);
  EXPECT_EQ(p.got[0].first, frame);
  EXPECT_TRUE(same(p.got[0].second, tso(GsoType::kTcpV6)));
  EXPECT_EQ(p.port->dropped(), 3u);
}

TEST(FramePortPlain, CarriesBareFramesAndRefusesOffloads) {
  PortPair p(Framing::kPlain);
  ASSERT_TRUE(p.port);
  EXPECT_FALSE(p.port->carries_offload());
  ASSERT_TRUE(p.port->send(frame_of(1514)));
  EXPECT_EQ(p.read_peer(), frame_of(1514));
  EXPECT_FALSE(p.port->send(frame_of(30000), tso(GsoType::kTcpV4)));
  EXPECT_TRUE(p.read_peer().empty());
  EXPECT_EQ(p.port->dropped(), 1u);
  p.write_peer(frame_of(100));
  p.loop.run_once(1000);
  ASSERT_EQ(p.got.size(), 1u);
  EXPECT_EQ(p.got[0].first, frame_of(100));
  EXPECT_TRUE(p.got[0].second.none());
}

// The stream port passt speaks to (QEMU's framing: a 32-bit big-endian length
// before each frame), over a SOCK_STREAM pair with small buffers so that
// writes are taken in part and reads end inside a frame.
namespace {

struct StreamPair {
  EventLoop loop;
  int peer = -1;
  std::unique_ptr<FramePort> port;
  std::vector<Bytes> got;
  bool hung_up = false;

  StreamPair() {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return;
    int small = 4096;
    for (int fd : sv) {
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    }
    peer = sv[1];
    port = FramePort::adopt(loop, sv[0], "stream", Framing::kLengthPrefixed);
    port->set_receiver([this](std::span<const uint8_t> f, const FrameOffload& o) {
      EXPECT_TRUE(o.none());
      got.emplace_back(f.begin(), f.end());
    });
    port->set_on_hangup([this] { hung_up = true; });
  }
  ~StreamPair() {
    port.reset();
    if (peer >= 0) close(peer);
  }
  // Writes `bytes` to the port in pieces of `piece`, running the loop between.
  void feed(const Bytes& bytes, size_t piece) {
    for (size_t at = 0; at < bytes.size(); at += piece) {
      size_t n = std::min(piece, bytes.size() - at);
      ASSERT_EQ(write(peer, bytes.data() + at, n), ssize_t(n));
      loop.run_once(0);
    }
  }
  // Reads everything the port sends until `want` bytes came, running the
  // loop so that queued frames are flushed.
  Bytes drain(size_t want) {
    Bytes all;
    for (int spins = 0; all.size() < want && spins < 100000; ++spins) {
      loop.run_once(0);
      uint8_t buf[8192];
      ssize_t n = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) all.insert(all.end(), buf, buf + n);
    }
    return all;
  }
};

Bytes prefixed(const Bytes& frame) {
  uint32_t n = static_cast<uint32_t>(frame.size());
  Bytes out(4 + frame.size());
  out[0] = uint8_t(n >> 24), out[1] = uint8_t(n >> 16), out[2] = uint8_t(n >> 8), out[3] = uint8_t(n);
  std::copy(frame.begin(), frame.end(), out.begin() + 4);
  return out;
}

}  // namespace

TEST(FramePortStream, FramesCutOutOfAStreamReadInOddPieces) {
  StreamPair p;
  ASSERT_TRUE(p.port);
  EXPECT_FALSE(p.port->carries_offload());
  EXPECT_TRUE(p.port->takes_large_frames());
  Bytes stream;
  std::vector<Bytes> frames = {frame_of(60), frame_of(1514), frame_of(14), frame_of(9000), frame_of(64)};
  for (const Bytes& f : frames) {
    Bytes one = prefixed(f);
    stream.insert(stream.end(), one.begin(), one.end());
  }
  p.feed(stream, 7);  // lengths and frames split across reads everywhere
  ASSERT_EQ(p.got.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(p.got[i], frames[i]) << "frame " << i;
  EXPECT_FALSE(p.hung_up);
}

TEST(FramePortStream, ALengthNoFrameHasEndsTheStream) {
  for (uint32_t bad : {0u, 13u, uint32_t(FramePort::kMaxFrame + 1), 0xffffffffu}) {
    StreamPair p;
    ASSERT_TRUE(p.port);
    Bytes good = prefixed(frame_of(100));
    Bytes stream = good;
    Bytes header = {uint8_t(bad >> 24), uint8_t(bad >> 16), uint8_t(bad >> 8), uint8_t(bad)};
    stream.insert(stream.end(), header.begin(), header.end());
    stream.insert(stream.end(), good.begin(), good.end());
    p.feed(stream, stream.size());
    EXPECT_EQ(p.got.size(), 1u) << bad;
    EXPECT_TRUE(p.hung_up) << bad;
    EXPECT_FALSE(p.port->send(frame_of(60))) << "a hung-up port sends nothing";
  }
}

TEST(FramePortStream, WritesTheSocketTakesInPartArriveWholeAndInOrder) {
  StreamPair p;
  ASSERT_TRUE(p.port);
  // Far more than the socket buffers hold: most of it waits in the port.
  std::vector<Bytes> frames;
  Bytes expect;
  for (size_t i = 0; i < 40; ++i) {
    Bytes f = frame_of(1000 + i * 997 % 60000);
    f[0] = static_cast<uint8_t>(i);
    ASSERT_TRUE(p.port->send(f));
    Bytes one = prefixed(f);
    expect.insert(expect.end(), one.begin(), one.end());
  }
  EXPECT_EQ(p.drain(expect.size()), expect);
  EXPECT_EQ(p.port->dropped(), 0u);
}

TEST(FramePortStream, OffloadMetadataIsRefused) {
  StreamPair p;
  ASSERT_TRUE(p.port);
  EXPECT_FALSE(p.port->send(frame_of(3000), tso(GsoType::kTcpV4)));
  EXPECT_EQ(p.port->dropped(), 1u);
}

TEST(FramePortStream, ThePeerClosingIsAHangup) {
  StreamPair p;
  ASSERT_TRUE(p.port);
  close(p.peer);
  p.peer = -1;
  p.loop.run_once(0);
  EXPECT_TRUE(p.hung_up);
}
