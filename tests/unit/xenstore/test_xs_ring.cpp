// The guest ring transport: requests and replies through the shared page,
// messages bigger than the ring, notifications, and hostile guests (impossible
// indices, oversize lengths, never reading replies, flooding), each of which
// affects only its own domain. Also the reconnect handshake.
#include <gtest/gtest.h>

#include <memory>

#include "event_loop.h"
#include "xenstored.h"
#include "xs_guest_ring.h"

namespace atl::hv::xs::test {
namespace {

class XsRing : public ::testing::Test {
 protected:
  void SetUp() override { make(XsOptions{}); }
  void make(const XsOptions& o) {
    xs.reset();
    xs = std::make_unique<Xenstored>(loop, o);
    for (uint16_t d : {3, 4}) {
      xs->create_domain_layout(d, "guest" + std::to_string(d), 65536);
      GuestRing& g = ring(d);
      xs->introduce(d, g.page(), [&g] { ++g.notifications; });
    }
  }
  GuestRing& ring(uint16_t d) { return d == 3 ? g3 : g4; }
  // One request from a guest, answered in one event: the reply; anything
  // after it (a watch's first event) goes to `leftover`.
  Message call(uint16_t d, MsgType type, const std::string& payload, uint32_t req_id = 1) {
    GuestRing& g = ring(d);
    EXPECT_EQ(g.send(request(type, payload, req_id)), payload.size() + kHeaderSize);
    xs->on_guest_event(d);
    auto msgs = g.receive();
    EXPECT_FALSE(msgs.empty());
    if (msgs.empty()) return Message{};
    leftover.assign(msgs.begin() + 1, msgs.end());
    return msgs[0];
  }
  std::vector<Message> leftover;
  void drain() {
    for (int i = 0; i < 20; ++i) loop.run_once(0);
  }

  EventLoop loop;
  GuestRing g3, g4;
  std::unique_ptr<Xenstored> xs;
};

TEST_F(XsRing, ServerAdvertisesReconnectAndErrorField) {
  EXPECT_EQ(g3.intf()->server_features,
            uint32_t{XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR});
  EXPECT_EQ(g3.intf()->error, uint32_t{XENSTORE_ERROR_NONE});
}

TEST_F(XsRing, RequestAndReply) {
  int before = g3.notifications;
  Message m = call(3, MsgType::kRead, path_arg("name"), 42);
  EXPECT_EQ(m.type(), MsgType::kRead);
  EXPECT_EQ(m.header.req_id, 42u);
  EXPECT_EQ(m.payload, "guest3");
  EXPECT_GT(g3.notifications, before) << "the guest is told a reply is there";
  EXPECT_EQ(call(3, MsgType::kRead, path_arg("/local/domain/4/name")).type(), MsgType::kError);
}

TEST_F(XsRing, ManyRequestsInOneEvent) {
  for (uint32_t i = 0; i < 20; ++i) g3.send(request(MsgType::kRead, path_arg("domid"), i));
  xs->on_guest_event(3);
  auto msgs = g3.receive();
  ASSERT_EQ(msgs.size(), 20u);
  for (uint32_t i = 0; i < 20; ++i) {
    EXPECT_EQ(msgs[i].header.req_id, i);
    EXPECT_EQ(msgs[i].payload, "3");
  }
}

TEST_F(XsRing, MessagesLargerThanTheRingGoInPieces) {
  std::string value(2000, 'v');
  std::string msg = request(MsgType::kWrite, path_arg("data/big") + value);
  ASSERT_GT(msg.size(), size_t{XENSTORE_RING_SIZE});
  size_t sent = 0;
  std::vector<Message> replies;
  for (int round = 0; round < 10 && replies.empty(); ++round) {
    sent += g3.send(msg.substr(sent));
    xs->on_guest_event(3);
    for (Message& m : g3.receive()) replies.push_back(m);
  }
  ASSERT_EQ(sent, msg.size());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].type(), MsgType::kWrite);
  // The reply to a read of it is bigger than the ring too: the daemon sends
  // what fits and the rest each time the guest says it made room.
  g3.send(request(MsgType::kRead, path_arg("data/big")));
  replies.clear();
  for (int round = 0; round < 10 && replies.empty(); ++round) {
    xs->on_guest_event(3);
    for (Message& m : g3.receive()) replies.push_back(m);
  }
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].payload, value);
}

TEST_F(XsRing, IndicesNearWrapAroundWork) {
  GuestRing g;
  for (uint32_t* idx : {&g.intf()->req_cons, &g.intf()->req_prod, &g.intf()->rsp_cons, &g.intf()->rsp_prod})
    *idx = 0xFFFFFF00u;
  xs->introduce(5, g.page(), [] {});
  for (int i = 0; i < 30; ++i) {
    g.send(request(MsgType::kGetDomainPath, path_arg("5"), static_cast<uint32_t>(i)));
    xs->on_guest_event(5);
    auto msgs = g.receive();
    ASSERT_EQ(msgs.size(), 1u) << i;
    EXPECT_EQ(msgs[0].payload, std::string("/local/domain/5\0", 16));
  }
  EXPECT_LT(g.intf()->req_prod, 0x1000u) << "the indices wrapped";
}

TEST_F(XsRing, ImpossibleRequestIndicesDisconnectOnlyThatDomain) {
  g3.intf()->req_prod = g3.intf()->req_cons + XENSTORE_RING_SIZE + 1;
  xs->on_guest_event(3);
  EXPECT_EQ(g3.intf()->error, uint32_t{XENSTORE_ERROR_RINGIDX});
  EXPECT_TRUE(g3.receive().empty());
  // Sane indices do not revive it: the guest must reconnect.
  g3.intf()->req_prod = g3.intf()->req_cons;
  g3.send(request(MsgType::kRead, path_arg("name")));
  xs->on_guest_event(3);
  EXPECT_TRUE(g3.receive().empty());
  EXPECT_EQ(call(4, MsgType::kRead, path_arg("name")).payload, "guest4");
  EXPECT_TRUE(xs->read("/local/domain/3/name").ok());
}

TEST_F(XsRing, ImpossibleResponseIndicesDisconnect) {
  g3.intf()->rsp_cons = g3.intf()->rsp_prod + 7;  // the guest "consumed" unwritten bytes
  g3.send(request(MsgType::kRead, path_arg("name")));
  xs->on_guest_event(3);
  EXPECT_EQ(g3.intf()->error, uint32_t{XENSTORE_ERROR_RINGIDX});
  EXPECT_EQ(call(4, MsgType::kRead, path_arg("name")).payload, "guest4");
}

TEST_F(XsRing, OversizeLengthIsAProtocolError) {
  MsgHeader h{XS_READ, 1, 0, kPayloadMax + 1};
  g3.send(std::string(reinterpret_cast<char*>(&h), sizeof(h)));
  xs->on_guest_event(3);
  EXPECT_EQ(g3.intf()->error, uint32_t{XENSTORE_ERROR_PROTO});
  EXPECT_EQ(call(4, MsgType::kRead, path_arg("domid")).payload, "4");
}

TEST_F(XsRing, ReconnectStartsOver) {
  EXPECT_EQ(call(3, MsgType::kWatch, path_arg("data") + path_arg("tok")).type(), MsgType::kWatch);
  EXPECT_EQ(leftover.size(), 1u) << "the first fire";
  g3.intf()->req_prod = g3.intf()->req_cons + 5000;
  xs->on_guest_event(3);
  ASSERT_EQ(g3.intf()->error, uint32_t{XENSTORE_ERROR_RINGIDX});
  g3.intf()->connection = XENSTORE_RECONNECT;
  xs->on_guest_event(3);
  EXPECT_EQ(g3.intf()->connection, uint32_t{XENSTORE_CONNECTED});
  EXPECT_EQ(g3.intf()->error, uint32_t{XENSTORE_ERROR_NONE});
  EXPECT_EQ(g3.intf()->req_prod, 0u);
  EXPECT_EQ(g3.intf()->rsp_prod, 0u);
  EXPECT_EQ(call(3, MsgType::kRead, path_arg("name")).payload, "guest3");
  ASSERT_TRUE(xs->write("/local/domain/3/data/x", "1").ok());
  xs->on_guest_event(3);
  EXPECT_TRUE(g3.receive().empty()) << "watches did not survive the reconnect";
}

TEST_F(XsRing, WatchEventsArriveOnTheRingWithANotification) {
  EXPECT_EQ(call(3, MsgType::kWatch, path_arg("control/shutdown") + path_arg("sd")).type(),
            MsgType::kWatch);
  auto first = leftover;
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].payload, std::string("control/shutdown\0sd\0", 20));
  int before = g3.notifications;
  ASSERT_TRUE(xs->write("/local/domain/3/control/shutdown", "poweroff").ok());
  EXPECT_GT(g3.notifications, before);
  auto ev = g3.receive();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].type(), MsgType::kWatchEvent);
  EXPECT_EQ(ev[0].payload, std::string("control/shutdown\0sd\0", 20));
}

TEST_F(XsRing, GuestRequestsRespectPermissions) {
  EXPECT_EQ(call(3, MsgType::kWrite, path_arg("data/ok") + "v").type(), MsgType::kWrite);
  Message denied = call(3, MsgType::kWrite, path_arg("name") + "renamed");
  EXPECT_EQ(denied.type(), MsgType::kError);
  EXPECT_EQ(denied.payload, std::string("EACCES\0", 7));
  EXPECT_EQ(xs->read("/local/domain/3/name").value(), "guest3");
}

TEST_F(XsRing, AGuestThatNeverReadsIsPausedThenDropped) {
  XsOptions o;
  o.output_pause_bytes = 2048;
  o.max_output_bytes = 8192;
  make(o);
  // Requests while replies pile up: past the pause mark the daemon stops
  // taking them, so the guest cannot make it queue without bound.
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += request(MsgType::kRead, path_arg("name"));
  size_t sent = 0;
  for (int i = 0; i < 100; ++i) {
    sent += g3.send(stream.substr(sent));
    xs->on_guest_event(3);
  }
  drain();
  uint32_t cons = g3.intf()->req_cons;
  EXPECT_LT(cons, 2u * 1024 + 2048 + 200) << "about what the ring and the pause mark hold";
  for (int i = 0; i < 20; ++i) {
    sent += g3.send(stream.substr(sent));
    xs->on_guest_event(3);
  }
  drain();
  EXPECT_EQ(g3.intf()->req_cons, cons) << "paused: nothing more taken";
  EXPECT_EQ(g3.intf()->req_prod - g3.intf()->req_cons, 1024u) << "the guest's ring is full";
  EXPECT_EQ(g3.intf()->error, uint32_t{XENSTORE_ERROR_NONE}) << "slow is not hostile";
  // Once it reads, service resumes.
  g3.receive();
  xs->on_guest_event(3);
  EXPECT_GT(g3.intf()->req_cons, cons);
  // Watch events are not requests: past the hard limit the domain is dropped.
  GuestRing& g4r = ring(4);
  g4r.send(request(MsgType::kWatch, path_arg("data") + path_arg("t")));
  xs->on_guest_event(4);
  for (int i = 0; i < 2000 && g4r.intf()->error == XENSTORE_ERROR_NONE; ++i)
    ASSERT_TRUE(xs->write("/local/domain/4/data/x", std::to_string(i)).ok());
  EXPECT_EQ(g4r.intf()->error, uint32_t{XENSTORE_ERROR_COMM});
  EXPECT_EQ(xs->core().watches().size(), 0u) << "its watches went with it";
  EXPECT_TRUE(xs->write("/local/domain/4/data/x", "fine").ok());
}

TEST_F(XsRing, PerEventBudgetYieldsToTheLoop) {
  XsOptions o;
  o.max_requests_per_event = 2;
  make(o);
  for (uint32_t i = 0; i < 6; ++i) g3.send(request(MsgType::kRead, path_arg("domid"), i));
  xs->on_guest_event(3);
  EXPECT_EQ(g3.receive().size(), 2u) << "two now";
  drain();
  EXPECT_EQ(g3.receive().size(), 4u) << "the rest from the loop, without another event";
}

TEST_F(XsRing, ReleasedDomainIsNotServed) {
  xs->release(3);
  g3.send(request(MsgType::kRead, path_arg("name")));
  xs->on_guest_event(3);
  EXPECT_TRUE(g3.receive().empty());
  EXPECT_FALSE(xs->is_introduced(3));
  EXPECT_EQ(call(4, MsgType::kRead, path_arg("domid")).payload, "4");
}

TEST_F(XsRing, RequestsQueuedBeforeIntroductionAreServed) {
  GuestRing early;
  early.send(request(MsgType::kGetDomainPath, path_arg("6")));
  xs->introduce(6, early.page(), [&early] { ++early.notifications; });
  auto msgs = early.receive();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(early.notifications, 1);
}

}  // namespace
}  // namespace atl::hv::xs::test
