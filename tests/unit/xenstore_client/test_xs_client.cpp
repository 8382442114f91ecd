// The xenstore client against an in-process fake daemon: request ids and reply
// routing, errors, node operations, the byte stream's failure modes, watches.
#include <gtest/gtest.h>

#include "atoll/xenstore.h"
#include "fake_xenstored.h"

namespace atl::xs {
namespace {

using testing::FakeXenstored;

std::string nul(std::string_view s) { return std::string(s) + '\0'; }

// Natively nobody runs the xenstore thread: read what arrived, run the callbacks.
size_t run_watches(Client& c) {
  (void)c.pump();
  return c.dispatch_watch_events();
}

TEST(XsClient, RepliesArrivingOutOfOrderWithWatchEventsBetweenReachTheirRequests) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.store_write("a", "value of a");
  xsd.store_write("b", "value of b");
  xsd.set_defer(true);
  auto id_a = c.send_request(XS_READ, 0, nul("a"));
  auto id_b = c.send_request(XS_READ, 0, nul("b"));
  ASSERT_TRUE(id_a.ok() && id_b.ok());
  EXPECT_NE(*id_a, *id_b);
  ASSERT_EQ(xsd.deferred_count(), 2u);
  // While the first caller waits, the daemon answers b, fires a watch, answers a.
  xsd.on_wait([&] { xsd.answer(1); });
  xsd.on_wait([&] { xsd.send_message(XS_WATCH_EVENT, 0, 0, nul("x") + nul("atl/77")); });
  xsd.on_wait([&] { xsd.answer(0); });
  auto a = c.await_reply(*id_a);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "value of a");
  // b's reply was read while waiting for a: no more waiting (the fake has no actions left).
  auto b = c.await_reply(*id_b);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "value of b");
  EXPECT_EQ(c.queued_watch_events(), 1u);
  EXPECT_EQ(c.stats().unmatched_replies, 0u);
  EXPECT_GT(xsd.wakeups(), 0u);  // other waiters are told when replies are routed
}

TEST(XsClient, ReplyToAnIdNobodyAwaitsIsDroppedAndCounted) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.store_write("k", "v");
  xsd.send_message(XS_READ, 999, 0, "stray");
  auto v = c.read("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "v");
  EXPECT_EQ(c.stats().unmatched_replies, 1u);
}

TEST(XsClient, ReplyOfAnotherTypeIsAnIoError) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.set_defer(true);
  auto id = c.send_request(XS_READ, 0, nul("k"));
  ASSERT_TRUE(id.ok());
  xsd.send_message(XS_WRITE, *id, 0, nul("OK"));
  auto r = c.await_reply(*id);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kIo);
}

TEST(XsClient, ErrorRepliesBecomeErrnos) {
  FakeXenstored xsd;
  Client c(xsd);
  auto missing = c.read("no/such/node");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), Errno::kNoEnt);
  xsd.fail_path("/local/domain/0/secret", "EACCES");
  auto denied = c.read("/local/domain/0/secret");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error(), Errno::kAcces);
  xsd.fail_path(xsd.home() + "/big", "EQUOTA");
  auto quota = c.write("big", "x");
  ASSERT_FALSE(quota.ok());
  EXPECT_EQ(quota.error(), kErrQuota);
}

TEST(XsClient, NodeOperationsRoundTripThroughTheDaemon) {
  FakeXenstored xsd;
  Client c(xsd);
  ASSERT_TRUE(c.write("data/x", "1").ok());
  EXPECT_EQ(xsd.store_read(xsd.home() + "/data/x"), "1");  // relative to the home
  ASSERT_TRUE(c.write("data/y", std::string("bin\0ary", 7)).ok());
  EXPECT_EQ(*c.read("data/y"), std::string("bin\0ary", 7));
  ASSERT_TRUE(c.mkdir("data/empty").ok());
  auto names = c.directory("data");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"empty", "x", "y"}));
  ASSERT_TRUE(c.rm("data").ok());
  EXPECT_EQ(c.read("data/x").error(), Errno::kNoEnt);
  EXPECT_EQ(c.directory("data").error(), Errno::kNoEnt);
}

TEST(XsClient, PermissionsAreParsedAndSent) {
  FakeXenstored xsd(3);
  Client c(xsd);
  ASSERT_TRUE(c.write("p", "").ok());
  auto perms = c.get_perms("p");
  ASSERT_TRUE(perms.ok());
  ASSERT_EQ(perms->size(), 2u);
  EXPECT_EQ((*perms)[0], (Permission{DomId(3), Access::kBoth}));
  EXPECT_EQ((*perms)[1], (Permission{DomId(0), Access::kRead}));
  ASSERT_TRUE(c.set_perms("p", {{DomId(3), Access::kNone}, {DomId(0), Access::kWrite}}).ok());
  const auto& sent = xsd.requests().back();
  EXPECT_EQ(sent.type, uint32_t{XS_SET_PERMS});
  EXPECT_EQ(sent.fields, (std::vector<std::string>{"p", "n3", "w0"}));
  EXPECT_EQ(c.set_perms("p", {}).error(), Errno::kInval);
}

TEST(XsClient, MalformedPermissionReplyIsAnIoError) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.set_defer(true);
  xsd.on_wait([&] { xsd.send_message(XS_GET_PERMS, xsd.requests().back().req_id, 0, nul("q7")); });
  EXPECT_EQ(c.get_perms("p").error(), Errno::kIo);
}

TEST(XsClient, OversizedAndInvalidRequestsAreRefusedBeforeSending) {
  FakeXenstored xsd;
  Client c(xsd);
  EXPECT_EQ(c.write("k", std::string(XENSTORE_PAYLOAD_MAX, 'v')).error(), Errno::kTooBig);
  EXPECT_EQ(c.read("").error(), Errno::kInval);
  EXPECT_EQ(c.read(std::string("a\0b", 3)).error(), Errno::kInval);
  EXPECT_TRUE(xsd.requests().empty());
}

TEST(XsClient, RequestLargerThanTheRingGoesInPiecesAndArrivesWhole) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.set_write_chunk(7);
  std::string value(3000, 'z');
  ASSERT_TRUE(c.write("big", value).ok());
  EXPECT_EQ(xsd.store_read("big"), value);
}

TEST(XsClient, SecondSenderSendsNothingWhileAMessageIsHalfWritten) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.set_write_budget(20);  // the big write stalls after 20 bytes: the ring is full
  bool second_sent = false;
  // Meanwhile "another thread" sends. Natively it cannot wait for a real second
  // thread, so its wait gives up; what matters is that none of its bytes went out.
  xsd.on_wait([&] { second_sent = c.send_request(XS_READ, 0, nul("other")).ok(); });
  xsd.on_wait([&] { xsd.set_write_budget(SIZE_MAX); });  // the daemon drains the ring
  std::string value(100, 'x');
  ASSERT_TRUE(c.write("big", value).ok());
  EXPECT_FALSE(second_sent);
  EXPECT_EQ(xsd.store_read("big"), value);
  ASSERT_EQ(xsd.requests().size(), 1u);
  EXPECT_EQ(xsd.requests()[0].type, uint32_t{XS_WRITE});
}

TEST(XsClient, LengthLieFailsThePendingAndEveryLaterRequest) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.set_defer(true);
  auto id = c.send_request(XS_READ, 0, nul("k"));
  ASSERT_TRUE(id.ok());
  xsd_sockmsg lie{XS_READ, *id, 0, XENSTORE_PAYLOAD_MAX + 1};
  xsd.send_raw(std::string(reinterpret_cast<const char*>(&lie), sizeof lie));
  EXPECT_EQ(c.await_reply(*id).error(), Errno::kIo);
  EXPECT_TRUE(c.broken());
  xsd.set_defer(false);
  EXPECT_EQ(c.read("k").error(), Errno::kIo);
}

TEST(XsClient, TransportThatGivesUpFailsTheRequest) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.set_defer(true);  // never answered, and wait() has nothing to run
  EXPECT_EQ(c.read("k").error(), Errno::kIo);
  EXPECT_FALSE(c.broken());
}

TEST(XsClient, GetDomainPath) {
  FakeXenstored xsd;
  Client c(xsd);
  auto path = c.get_domain_path(DomId(7));
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, "/local/domain/7");
}

TEST(XsWatch, FiresOnceAtRegistrationThenForWritesBelowThePath) {
  FakeXenstored xsd;
  Client c(xsd);
  std::vector<std::string> seen;
  auto w = c.watch("device", [&](std::string_view path) { seen.emplace_back(path); });
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(seen.empty());  // callbacks run only in the dispatcher
  EXPECT_EQ(run_watches(c), 1u);
  xsd.store_write("device/vif/0/state", "4");
  xsd.store_write("elsewhere", "1");
  EXPECT_GE(run_watches(c), 1u);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), "device");
  EXPECT_EQ(seen.back(), "device/vif/0/state");  // relative, as watched
  for (const auto& p : seen) EXPECT_NE(p, "elsewhere");
}

TEST(XsWatch, EventArrivingDuringARequestWaitsForTheDispatcher) {
  FakeXenstored xsd;
  Client c(xsd);
  int calls = 0;
  auto w = c.watch("k", [&](std::string_view) { ++calls; });
  ASSERT_TRUE(w.ok());
  run_watches(c);
  calls = 0;
  xsd.store_write("k", "new");  // the event is on the stream before the reply below
  auto v = c.read("k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(c.queued_watch_events(), 1u);
  EXPECT_EQ(c.dispatch_watch_events(), 1u);
  EXPECT_EQ(calls, 1);
}

TEST(XsWatch, UnwatchSendsTheTokenAndDropsEventsAlreadyQueued) {
  FakeXenstored xsd;
  Client c(xsd);
  int calls = 0;
  auto w = c.watch("k", [&](std::string_view) { ++calls; });
  ASSERT_TRUE(w.ok());
  std::string token = w->token();
  (void)c.pump();  // the initial event is queued, not run
  ASSERT_TRUE(w->unwatch().ok());
  const auto& sent = xsd.requests().back();
  EXPECT_EQ(sent.type, uint32_t{XS_UNWATCH});
  EXPECT_EQ(sent.fields, (std::vector<std::string>{"k", token}));
  EXPECT_EQ(c.dispatch_watch_events(), 0u);
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(c.stats().stale_events, 1u);
  EXPECT_EQ(xsd.watch_count(), 0u);
}

TEST(XsWatch, DestroyingTheWatchUnregistersIt) {
  FakeXenstored xsd;
  Client c(xsd);
  {
    auto w = c.watch("k", [](std::string_view) {});
    ASSERT_TRUE(w.ok());
    Watch moved = std::move(*w);
    EXPECT_FALSE(w->active());
    EXPECT_TRUE(moved.active());
  }
  EXPECT_EQ(xsd.count(XS_UNWATCH), 1u);
  EXPECT_EQ(xsd.watch_count(), 0u);
}

TEST(XsWatch, CallbackMayIssueRequestsAndRemoveItsOwnWatch) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.store_write("other", "42");
  Watch w;
  std::string read_back;
  auto made = c.watch("k", [&](std::string_view) {
    read_back = *c.read("other");
    (void)w.unwatch();
  });
  ASSERT_TRUE(made.ok());
  w = std::move(*made);
  EXPECT_EQ(run_watches(c), 1u);
  EXPECT_EQ(read_back, "42");
  EXPECT_FALSE(w.active());
  xsd.store_write("k", "again");
  EXPECT_EQ(run_watches(c), 0u);
}

TEST(XsWatch, MalformedEventIsDroppedAndCounted) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.send_message(XS_WATCH_EVENT, 0, 0, "path-without-token");
  EXPECT_EQ(run_watches(c), 0u);
  EXPECT_EQ(c.stats().malformed_events, 1u);
  EXPECT_FALSE(c.broken());
}

TEST(XsWatch, RefusedWatchReportsTheError) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.fail_path("/local/domain/0", "EACCES");
  auto w = c.watch("/local/domain/0", [](std::string_view) {});
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error(), Errno::kAcces);
  EXPECT_EQ(c.watch("", [](std::string_view) {}).error(), Errno::kInval);
}

}  // namespace
}  // namespace atl::xs
