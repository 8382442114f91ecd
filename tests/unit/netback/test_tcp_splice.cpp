// The hypervisor's TCP port forwards (tcp_splice.h) against a real host
// client on loopback and a scripted guest: the test plays the guest's TCP,
// frame by frame, through on_guest_frame(), and reads what the forwards
// deliver to it from the port's receiver. A real EventLoop drives the host
// side.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "clock.h"
#include "event_loop.h"
#include "frame_port.h"
#include "tcp_segment.h"
#include "tcp_splice.h"

using namespace atl::hv;

namespace {

constexpr uint32_t kGuestAddr = 0x0a00020f;  // 10.0.2.15
constexpr uint32_t kGatewayAddr = 0x0a000202;
constexpr MacAddress kGuestMac{0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr MacAddress kGatewayMac{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
constexpr uint16_t kGuestPort = 80;
constexpr uint8_t kGuestShift = 7;

uint16_t unused_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

// A copy of each segment the forwards sent the guest.
struct Sent {
  TcpEndpoints ends;
  TcpHeader tcp;
  size_t payload = 0;
};

class TcpSpliceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    m_far = sv[1];
    m_port = FramePort::adopt(m_loop, sv[0], "test port");
    ASSERT_NE(m_port, nullptr);
    m_port->set_receiver([this](std::span<const uint8_t> frame, const FrameOffload&) {
      if (auto s = parse_tcp_segment(frame)) m_sent.push_back({s->ends, s->tcp, s->payload.size()});
    });
    m_host_port = unused_port();
    HostFwd fwd;
    fwd.host_addr = htonl(INADDR_LOOPBACK);
    fwd.host_port = m_host_port;
    fwd.guest_port = kGuestPort;
    std::string error;
    m_splice = TcpSplice::try_create(m_loop, *m_port, {fwd}, kDefaultMaxConnections, error);
    ASSERT_NE(m_splice, nullptr) << error;
  }
  void TearDown() override {
    if (m_client >= 0) close(m_client);
    m_splice.reset();
    m_port.reset();
    close(m_far);
  }

  // Runs the loop until `done` or `ms` have passed.
  template <typename Pred>
  bool run_until(Pred done, int ms = 2000) {
    uint64_t deadline = monotonic_ns() + uint64_t(ms) * 1'000'000;
    while (!done()) {
      if (monotonic_ns() > deadline) return false;
      m_loop.run_once(10);
    }
    return true;
  }

  void from_guest(uint8_t flags, std::span<const uint8_t> payload = {}, std::optional<uint16_t> mss = {},
                  std::optional<uint8_t> shift = {}) {
    TcpEndpoints ends{kGuestMac, kGatewayMac, kGuestAddr, kGatewayAddr, kGuestPort, m_our_port};
    TcpHeader tcp;
    tcp.seq = m_guest_seq;
    tcp.ack = m_guest_ack;
    tcp.flags = flags;
    tcp.window = 0xffff;
    tcp.mss = mss;
    tcp.window_scale = shift;
    std::vector<uint8_t> frame;
    build_tcp_frame(ends, tcp, payload, 1460, 1, frame);
    ASSERT_TRUE(m_splice->on_guest_frame(frame));
    m_guest_seq += static_cast<uint32_t>(payload.size()) + ((flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
  }

  // A host client connects; the forwards' SYN reaches the guest, which answers.
  void connect_client(int rcvbuf) {
    // Any frame from the guest teaches the forwards its MAC.
    std::vector<uint8_t> hello;
    build_tcp_frame({kGuestMac, kGatewayMac, kGuestAddr, 0x01020304, 1, 2}, TcpHeader{}, {}, 1460, 1, hello);
    m_splice->on_guest_frame(hello);
    m_client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(m_client, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(m_host_port);
    ASSERT_TRUE(connect(m_client, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 || errno == EINPROGRESS);
    ASSERT_TRUE(run_until([&] { return !m_sent.empty(); })) << "no SYN reached the guest";
    const Sent syn = m_sent.back();
    ASSERT_EQ(syn.tcp.flags, kTcpSyn);
    m_our_port = syn.ends.src_port;
    m_guest_seq = 1000;
    m_guest_ack = syn.tcp.seq + 1;
    m_sent.clear();
    from_guest(kTcpSyn | kTcpAck, {}, 1460, kGuestShift);
    ASSERT_TRUE(run_until([&] { return !m_sent.empty(); })) << "the handshake was not completed";
    m_shift = 4;  // kRcvShift: the forwards scale the window they offer
  }

  // The window the last segment to the guest offered, in bytes.
  size_t last_window() const { return size_t(m_sent.back().tcp.window) << m_shift; }

  // Bytes the host client can read now.
  size_t drain_client() {
    size_t total = 0;
    uint8_t buf[65536];
    for (;;) {
      ssize_t n = recv(m_client, buf, sizeof buf, 0);
      if (n <= 0) return total;
      total += size_t(n);
    }
  }

  EventLoop m_loop;
  int m_far = -1, m_client = -1;
  std::unique_ptr<FramePort> m_port;
  std::unique_ptr<TcpSplice> m_splice;
  std::vector<Sent> m_sent;
  uint16_t m_host_port = 0, m_our_port = 0;
  uint32_t m_guest_seq = 0, m_guest_ack = 0;
  unsigned m_shift = 0;
};

// The guest fills the window while the host client reads nothing; then the
// client reads. The forwards must tell the guest the window is open again
// at once: a guest that learned of it only from its own persist probes (or
// retransmissions) waits for timers that have backed off to a minute and
// more. All 200 downloads of `forward-unread-downloads` once stalled there,
// each at exactly the bytes its buffers held.
TEST_F(TcpSpliceTest, WindowReopensWhenTheHostReadsAgain) {
  connect_client(4096);
  std::vector<uint8_t> chunk(max_frame_payload(1460), 'x');
  size_t sent = 0;
  // Until the forwards offer no more room: the client's kernel, the socket's
  // send buffer and the forwards' own queue are full.
  while (last_window() > 0) {
    size_t n = std::min(chunk.size(), last_window());
    from_guest(kTcpAck | kTcpPsh, std::span(chunk).first(n));
    sent += n;
    ASSERT_LT(sent, size_t(64) << 20) << "the window never closed";
    m_loop.run_once(0);
    ASSERT_EQ(m_sent.back().tcp.ack, m_guest_seq) << "data at the window's edge was not taken whole";
  }
  m_sent.clear();
  // The client reads everything; the guest sends nothing and waits.
  size_t read = 0;
  bool reopened = run_until(
      [&] {
        read += drain_client();
        return !m_sent.empty() && last_window() > 0;
      },
      3000);
  EXPECT_TRUE(reopened) << "no window update after the host client read " << read << " of " << sent << " bytes";
  read += drain_client();
  EXPECT_GT(read, 0u);
}

// lwIP forgets a connection some time after its app closed it, and answers
// the next segment for it with a reset. The bytes it sent before were
// acknowledged by the forwards: the host client must still get every one,
// and then a FIN, not a reset that throws away what its kernel holds.
TEST_F(TcpSpliceTest, GuestResetAfterItsFinLosesNothing) {
  connect_client(4096);
  std::vector<uint8_t> chunk(max_frame_payload(1460));
  size_t sent = 0;
  for (size_t i = 0; sent < (size_t(2) << 20); ++i) {
    ASSERT_GT(last_window(), 0u) << "the window closed at " << sent << " bytes";
    size_t n = std::min(chunk.size(), last_window());
    for (size_t j = 0; j < n; ++j) chunk[j] = static_cast<uint8_t>(sent + j);
    from_guest(kTcpAck | kTcpPsh, std::span(chunk).first(n));
    sent += n;
    m_loop.run_once(0);
  }
  from_guest(kTcpAck | kTcpFin);
  m_loop.run_once(0);
  ASSERT_EQ(m_sent.back().tcp.ack, m_guest_seq) << "the FIN was not taken";
  from_guest(kTcpRst);
  size_t read = 0;
  int end = 0;  // 0: still open; 1: EOF; -errno
  run_until(
      [&] {
        uint8_t buf[65536];
        for (;;) {
          ssize_t n = recv(m_client, buf, sizeof buf, 0);
          if (n > 0) {
            for (ssize_t j = 0; j < n; ++j)
              if (buf[j] != static_cast<uint8_t>(read + size_t(j))) {
                ADD_FAILURE() << "byte " << read + size_t(j) << " differs";
                end = -EIO;
                return true;
              }
            read += size_t(n);
            continue;
          }
          if (n == 0) end = 1;
          if (n < 0 && errno != EAGAIN) end = -errno;
          return end != 0;
        }
      },
      3000);
  EXPECT_EQ(read, sent);
  EXPECT_EQ(end, 1) << "the connection ended with " << (end < 0 ? strerror(-end) : "nothing") << ", not a FIN";
}

// A client that leaves while netback holds the port paused (its backlog to
// the guest full: a flood of connections does it): pump() holds the FIN back
// then, and on_resumed() must send it. It did not, so the flow and its host
// socket stayed until the hypervisor ended: `httpd-slowloris-flood` found
// 100 to 300 descriptors left after 5,000 dropped connections and an ab run.
TEST_F(TcpSpliceTest, FinHeldWhilePausedIsSentOnResume) {
  connect_client(4096);
  m_port->set_paused(true);
  m_sent.clear();
  shutdown(m_client, SHUT_WR);
  // The forwards read the client's EOF, but may send nothing while paused.
  m_loop.run_once(100);
  m_loop.run_once(100);
  for (const Sent& s : m_sent) EXPECT_EQ(s.tcp.flags & kTcpFin, 0) << "a FIN went to the guest while paused";
  m_port->set_paused(false);
  m_splice->on_resumed();  // what the port does for its interceptor (uplink.cpp sets the forwards as that)
  bool fin = run_until([&] {
    for (const Sent& s : m_sent)
      if (s.tcp.flags & kTcpFin) return true;
    return false;
  });
  EXPECT_TRUE(fin) << "the client's FIN never reached the guest after the port resumed";
}

}  // namespace
