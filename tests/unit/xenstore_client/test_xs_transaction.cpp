// Transactions: the EAGAIN retry loop in transact(), the RAII abort, and the
// control/shutdown request that uses both.
#include <gtest/gtest.h>

#include "atoll/xenstore.h"
#include "fake_xenstored.h"

namespace atl::xs {
namespace {

using testing::FakeXenstored;

// Increments "counter" (absent counts as 0), as a body that may run many times must:
// everything it writes derives from what it reads in this attempt.
Result<void> increment(Transaction& t) {
  auto value = t.read("counter");
  int n = 0;
  if (value.ok()) n = std::stoi(*value);
  else if (value.error() != Errno::kNoEnt) return value.error();
  return t.write("counter", std::to_string(n + 1));
}

TEST(XsTransact, RetriesWhileTheCommitSaysEagainThenCommitsOnce) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.fail_commits(2);
  int runs = 0;
  auto r = transact(c, [&](Transaction& t) {
    ++runs;
    return increment(t);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(runs, 3);
  EXPECT_EQ(xsd.count(XS_TRANSACTION_START), 3u);
  EXPECT_EQ(xsd.count(XS_TRANSACTION_END), 3u);
  EXPECT_EQ(xsd.store_read("counter"), "1");  // the failed attempts left nothing behind
}

TEST(XsTransact, OperationsCarryTheTransactionId) {
  FakeXenstored xsd;
  Client c(xsd);
  uint32_t id = 0;
  ASSERT_TRUE(transact(c, [&](Transaction& t) {
                id = t.id();
                return increment(t);
              }).ok());
  EXPECT_NE(id, 0u);
  size_t in_tx = 0;
  for (const auto& request : xsd.requests()) {
    if (request.type == XS_READ || request.type == XS_WRITE || request.type == XS_TRANSACTION_END) {
      EXPECT_EQ(request.tx_id, id);
      ++in_tx;
    }
  }
  EXPECT_EQ(in_tx, 3u);
}

TEST(XsTransact, BodyErrorAbortsWithoutRetrying) {
  FakeXenstored xsd;
  Client c(xsd);
  int runs = 0;
  auto r = transact(c, [&](Transaction& t) -> Result<void> {
    ++runs;
    if (!t.write("half", "done").ok()) return Errno::kIo;
    return Errno::kNoEnt;
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kNoEnt);
  EXPECT_EQ(runs, 1);
  ASSERT_EQ(xsd.count(XS_TRANSACTION_END), 1u);
  EXPECT_EQ(xsd.requests().back().fields, std::vector<std::string>{"F"});
  EXPECT_FALSE(xsd.store_read("half").has_value());
}

TEST(XsTransact, EagainFromTheBodyStartsOver) {
  FakeXenstored xsd;
  Client c(xsd);
  int runs = 0;
  auto r = transact(c, [&](Transaction& t) -> Result<void> {
    if (++runs == 1) return Errno::kAgain;
    return increment(t);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(xsd.store_read("counter"), "1");
}

TEST(XsTransact, GivesUpWithEagainAfterTheLastAttempt) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.fail_commits(100);
  int runs = 0;
  auto r = transact(c, [&](Transaction& t) {
    ++runs;
    return increment(t);
  }, 4);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kAgain);
  EXPECT_EQ(runs, 4);
  EXPECT_FALSE(xsd.store_read("counter").has_value());
}

TEST(XsTransact, StartFailureIsReturned) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.set_defer(true);
  int runs = 0;
  auto r = transact(c, [&](Transaction&) -> Result<void> {
    ++runs;
    return {};
  });
  EXPECT_EQ(r.error(), Errno::kIo);
  EXPECT_EQ(runs, 0);
}

TEST(XsTransaction, AbortsWhenDestroyedUncommitted) {
  FakeXenstored xsd;
  Client c(xsd);
  {
    auto t = c.transaction_start();
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t->write("x", "1").ok());
    EXPECT_TRUE(t->active());
  }
  ASSERT_EQ(xsd.count(XS_TRANSACTION_END), 1u);
  EXPECT_EQ(xsd.requests().back().fields, std::vector<std::string>{"F"});
  EXPECT_FALSE(xsd.store_read("x").has_value());
}

TEST(XsTransaction, CommittedTransactionEndsOnceAndRefusesMoreWork) {
  FakeXenstored xsd;
  Client c(xsd);
  {
    auto t = c.transaction_start();
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t->write("x", "1").ok());
    ASSERT_TRUE(t->commit().ok());
    EXPECT_FALSE(t->active());
    size_t sent = xsd.requests().size();
    EXPECT_EQ(t->read("x").error(), Errno::kInval);
    EXPECT_EQ(t->commit().error(), Errno::kInval);
    EXPECT_EQ(xsd.requests().size(), sent);  // nothing went out with a dead id
  }
  EXPECT_EQ(xsd.count(XS_TRANSACTION_END), 1u);
  EXPECT_EQ(xsd.store_read("x"), "1");
}

TEST(XsTransaction, CommitConflictIsEagainAndTheTransactionIsOver) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.fail_commits(1);
  {
    auto t = c.transaction_start();
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t->write("x", "1").ok());
    EXPECT_EQ(t->commit().error(), Errno::kAgain);
    EXPECT_FALSE(t->active());
  }
  EXPECT_EQ(xsd.count(XS_TRANSACTION_END), 1u);  // no abort after the daemon dropped it
  EXPECT_FALSE(xsd.store_read("x").has_value());
}

TEST(XsTransaction, MovedTransactionIsAbortedOnce) {
  FakeXenstored xsd;
  Client c(xsd);
  {
    auto t = c.transaction_start();
    ASSERT_TRUE(t.ok());
    Transaction moved(std::move(*t));
    EXPECT_FALSE(t->active());
    EXPECT_TRUE(moved.active());
  }
  EXPECT_EQ(xsd.count(XS_TRANSACTION_END), 1u);
}

TEST(XsControl, ShutdownRequestNames) {
  EXPECT_EQ(parse_shutdown_request("poweroff"), ShutdownRequest::kPoweroff);
  EXPECT_EQ(parse_shutdown_request("halt"), ShutdownRequest::kPoweroff);
  EXPECT_EQ(parse_shutdown_request("reboot"), ShutdownRequest::kReboot);
  EXPECT_EQ(parse_shutdown_request(std::string("reboot\0", 7)), ShutdownRequest::kReboot);
  EXPECT_EQ(parse_shutdown_request(""), ShutdownRequest::kNone);
  EXPECT_EQ(parse_shutdown_request("suspend"), ShutdownRequest::kUnsupported);
  EXPECT_EQ(parse_shutdown_request("Poweroff"), ShutdownRequest::kUnsupported);
}

TEST(XsControl, TakingAShutdownRequestClearsItOnce) {
  FakeXenstored xsd;
  Client c(xsd);
  xsd.store_write("control/shutdown", "poweroff");
  xsd.fail_commits(1);  // someone else touched control/ meanwhile
  auto first = take_shutdown_request(c);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, ShutdownRequest::kPoweroff);
  EXPECT_EQ(xsd.store_read("control/shutdown"), "");
  auto second = take_shutdown_request(c);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, ShutdownRequest::kNone);
}

TEST(XsControl, UnsupportedRequestIsLeftAndMissingKeyIsNone) {
  FakeXenstored xsd;
  Client c(xsd);
  auto none = take_shutdown_request(c);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, ShutdownRequest::kNone);
  xsd.store_write("control/shutdown", "suspend");
  auto suspend = take_shutdown_request(c);
  ASSERT_TRUE(suspend.ok());
  EXPECT_EQ(*suspend, ShutdownRequest::kUnsupported);
  EXPECT_EQ(xsd.store_read("control/shutdown"), "suspend");
  xsd.store_write("control/shutdown", "reboot");
  EXPECT_EQ(*take_shutdown_request(c), ShutdownRequest::kReboot);
  EXPECT_EQ(xsd.store_read("control/shutdown"), "");
}

}  // namespace
}  // namespace atl::xs
