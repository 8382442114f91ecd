// The host socket: owner-only permissions, the wire format over a stream,
// watch events, and clients that misbehave (oversize lengths, truncated
// messages, vanishing, never reading) without disturbing the others.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "event_loop.h"
#include "xenstored.h"
#include "xs_guest_ring.h"

namespace atl::hv::xs::test {
namespace {

class SocketClient {
 public:
  explicit SocketClient(const std::string& path) {
    m_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    connected = connect(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~SocketClient() { close(m_fd); }
  void send_bytes(const std::string& b) { ASSERT_EQ(::send(m_fd, b.data(), b.size(), MSG_NOSIGNAL), ssize_t(b.size())); }
  // Runs the daemon's loop until a message arrives (or the peer hangs up).
  std::optional<Message> next(EventLoop& loop) {
    for (int i = 0; i < 200; ++i) {
      if (!m_ready.empty()) {
        Message m = m_ready.front();
        m_ready.erase(m_ready.begin());
        return m;
      }
      loop.run_once(5);
      char buf[8192];
      ssize_t n = recv(m_fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (n == 0) {
        hung_up = true;
        return std::nullopt;
      }
      for (ssize_t off = 0; off < n;) {
        off += static_cast<ssize_t>(m_in.feed(buf + off, static_cast<size_t>(n - off)));
        if (m_in.ready()) m_ready.push_back(m_in.take());
      }
    }
    return std::nullopt;
  }
  int fd() const { return m_fd; }
  bool connected = false;
  bool hung_up = false;

 private:
  int m_fd;
  MessageAssembler m_in;
  std::vector<Message> m_ready;
};

class XsSocket : public ::testing::Test {
 protected:
  void SetUp() override {
    path = "/tmp/atoll-xs-test-" + std::to_string(getpid()) + ".sock";
    std::string error;
    ASSERT_TRUE(xs.listen(path, error)) << error;
  }
  // The reply to one request (watch events before it are skipped).
  std::string call(SocketClient& c, MsgType type, const std::string& payload) {
    c.send_bytes(request(type, payload, 99));
    auto m = c.next(loop);
    while (m && m->type() == MsgType::kWatchEvent) m = c.next(loop);
    if (!m) return "<none>";
    EXPECT_EQ(m->header.req_id, 99u);
    if (m->type() == MsgType::kError) return "E:" + m->payload.substr(0, m->payload.size() - 1);
    return m->payload;
  }
  EventLoop loop;
  Xenstored xs{loop};
  std::string path;
};

TEST_F(XsSocket, OwnerOnlyAndRemovedOnShutdown) {
  struct stat st{};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  {
    EventLoop l2;
    Xenstored other(l2);
    std::string error;
    std::string p2 = path + ".2";
    ASSERT_TRUE(other.listen(p2, error)) << error;
    EXPECT_EQ(access(p2.c_str(), F_OK), 0);
  }
  EXPECT_NE(access((path + ".2").c_str(), F_OK), 0) << "the socket file goes with the daemon";
  std::string error;
  EXPECT_FALSE(xs.listen(path, error)) << "one socket per daemon";
  EXPECT_FALSE(error.empty());
}

TEST_F(XsSocket, RequestsRepliesAndEvents) {
  SocketClient a(path), b(path);
  ASSERT_TRUE(a.connected && b.connected);
  EXPECT_EQ(call(a, MsgType::kWrite, path_arg("/s/k") + "v"), std::string("OK\0", 3));
  EXPECT_EQ(call(b, MsgType::kRead, path_arg("/s/k")), "v");
  EXPECT_EQ(call(b, MsgType::kWatch, path_arg("/s") + path_arg("tok")), std::string("OK\0", 3));
  auto first = b.next(loop);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->type(), MsgType::kWatchEvent);
  EXPECT_EQ(call(a, MsgType::kRm, path_arg("/s/k")), std::string("OK\0", 3));
  auto ev = b.next(loop);
  ASSERT_TRUE(ev.has_value());
  EXPECT_EQ(ev->payload, std::string("/s/k\0tok\0", 9));
  EXPECT_EQ(call(a, MsgType::kRead, path_arg("/s/k")), "E:ENOENT");
  EXPECT_EQ(xs.socket_connection_count(), 2u);
}

TEST_F(XsSocket, SplitAndCoalescedMessages) {
  SocketClient a(path);
  std::string two = request(MsgType::kWrite, path_arg("/x") + "1", 1) + request(MsgType::kRead, path_arg("/x"), 2);
  for (char c : two) a.send_bytes(std::string(1, c)), loop.run_once(0);
  auto r1 = a.next(loop);
  auto r2 = a.next(loop);
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->header.req_id, 1u);
  EXPECT_EQ(r2->payload, "1");
}

TEST_F(XsSocket, OversizeLengthHangsUpOnThatClientOnly) {
  SocketClient bad(path), good(path);
  MsgHeader h{XS_WRITE, 1, 0, kPayloadMax + 1};
  bad.send_bytes(std::string(reinterpret_cast<char*>(&h), sizeof(h)));
  EXPECT_FALSE(bad.next(loop).has_value());
  EXPECT_TRUE(bad.hung_up);
  EXPECT_EQ(call(good, MsgType::kRead, path_arg("/local/domain/0/name")), "Domain-0");
  for (int i = 0; i < 5; ++i) loop.run_once(0);
  EXPECT_EQ(xs.socket_connection_count(), 1u);
}

TEST_F(XsSocket, TruncatedMessageThenCloseIsHarmless) {
  {
    SocketClient quitter(path);
    std::string msg = request(MsgType::kWrite, path_arg("/half") + "value");
    quitter.send_bytes(msg.substr(0, 10));
    loop.run_once(5);
    quitter.send_bytes(msg.substr(10, 10));
    loop.run_once(5);
  }
  for (int i = 0; i < 5; ++i) loop.run_once(5);
  EXPECT_EQ(xs.socket_connection_count(), 0u);
  EXPECT_FALSE(xs.read("/half").ok()) << "a partial write is not applied";
  SocketClient next(path);
  EXPECT_EQ(call(next, MsgType::kRead, path_arg("/local/domain/0/domid")), "0");
}

TEST_F(XsSocket, ClosingDropsWatchesAndTransactions) {
  {
    SocketClient c(path);
    EXPECT_EQ(call(c, MsgType::kWatch, path_arg("/w") + path_arg("t")), std::string("OK\0", 3));
    EXPECT_NE(call(c, MsgType::kTransactionStart, path_arg("")).rfind("E:", 0), 0u);
  }
  for (int i = 0; i < 5; ++i) loop.run_once(5);
  EXPECT_EQ(xs.core().watches().size(), 0u);
  EXPECT_TRUE(xs.write("/w", "no one listens").ok());
}

TEST_F(XsSocket, AClientThatNeverReadsIsDroppedNotWaitedFor) {
  XsOptions o;
  o.max_output_bytes = 16 * 1024;
  EventLoop l2;
  Xenstored small(l2, o);
  std::string error;
  std::string p2 = path + ".small";
  ASSERT_TRUE(small.listen(p2, error)) << error;
  SocketClient deaf(p2), other(p2);
  deaf.send_bytes(request(MsgType::kWatch, path_arg("/noisy") + path_arg("t")));
  for (int i = 0; i < 5; ++i) l2.run_once(0);
  ASSERT_EQ(small.core().watches().size(), 1u);
  // Each write is an event for the client that never reads: first the kernel's
  // socket buffers fill, then our queue, then it is dropped.
  int writes = 0;
  for (; writes < 200000 && small.socket_connection_count() == 2; ++writes) {
    ASSERT_TRUE(small.write("/noisy/k", std::to_string(writes)).ok());
    l2.run_once(0);
  }
  EXPECT_EQ(small.socket_connection_count(), 1u) << "dropped past max_output_bytes";
  EXPECT_EQ(small.core().watches().size(), 0u);
  other.send_bytes(request(MsgType::kRead, path_arg("/noisy/k"), 5));
  auto reply = other.next(l2);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->payload, std::to_string(writes - 1));
}

}  // namespace
}  // namespace atl::hv::xs::test
