// Transactions: isolation (a transaction sees its own writes, others see them
// only after commit), and the conflict matrix (each kind of operation inside a
// transaction against each kind of change committed outside it meanwhile).
#include "xs_test_support.h"

namespace atl::hv::xs::test {
namespace {

class XsTransaction : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(outside.write("/t/a", "1"), kOK);
    ASSERT_EQ(outside.write("/t/a/c", "c"), kOK);
    ASSERT_EQ(outside.write("/t/b", "2"), kOK);
  }
  XsOptions options;
  Core core{options};
  Client inside{core, DomId(0)};
  Client outside{core, DomId(0)};
};

struct MatrixCase {
  const char* tx_op;       // what the transaction does
  const char* other_op;    // what commits outside meanwhile
  bool conflict;           // EAGAIN expected
};

std::string run_op(Client& c, std::string_view op, uint32_t tx) {
  if (op == "read a") return c.read("/t/a", tx);
  if (op == "write a") return c.write("/t/a", "tx", tx);
  if (op == "mkdir new") return c.mkdir("/t/new", tx);
  if (op == "rm a") return c.rm("/t/a", tx);
  if (op == "dir t") return c.dir("/t", tx);
  if (op == "write a/c") return c.write("/t/a/c", "x", tx);
  if (op == "create x") return c.write("/t/x", "x", tx);
  if (op == "write b") return c.write("/t/b", "x", tx);
  if (op == "write u") return c.write("/u", "x", tx);
  ADD_FAILURE() << "unknown op " << op;
  return "";
}

const MatrixCase kMatrix[] = {
    {"read a", "write a", true},     {"read a", "write a/c", false}, {"read a", "rm a", true},
    {"read a", "create x", false},   {"read a", "write b", false},   {"read a", "write u", false},
    {"write a", "write a", true},    {"write a", "write a/c", false}, {"write a", "rm a", true},
    {"write a", "create x", false},  {"write a", "write b", false},  {"write a", "write u", false},
    {"mkdir new", "write a", false}, {"mkdir new", "rm a", true},    {"mkdir new", "create x", true},
    {"mkdir new", "write b", false}, {"mkdir new", "write u", false},
    {"rm a", "write a", true},       {"rm a", "write a/c", true},    {"rm a", "rm a", true},
    {"rm a", "create x", true},      {"rm a", "write b", false},     {"rm a", "write u", false},
    {"dir t", "write a", false},     {"dir t", "write a/c", false},  {"dir t", "rm a", true},
    {"dir t", "create x", true},     {"dir t", "write b", false},    {"dir t", "write u", false},
};

TEST_F(XsTransaction, ConflictMatrix) {
  for (const MatrixCase& m : kMatrix) {
    SCOPED_TRACE(std::string(m.tx_op) + " vs " + m.other_op);
    Core fresh(options);
    Client in(fresh, DomId(0));
    Client out(fresh, DomId(0));
    ASSERT_EQ(out.write("/t/a", "1"), kOK);
    ASSERT_EQ(out.write("/t/a/c", "c"), kOK);
    ASSERT_EQ(out.write("/t/b", "2"), kOK);
    uint32_t tx = in.start();
    ASSERT_NE(tx, 0u);
    EXPECT_NE(run_op(in, m.tx_op, tx).rfind("E:", 0), 0u);
    EXPECT_EQ(run_op(out, m.other_op, 0), kOK);
    std::string before = out.read("/t/a");
    EXPECT_EQ(in.commit(tx), m.conflict ? "E:EAGAIN" : kOK);
    if (m.conflict) {
      EXPECT_EQ(out.read("/t/a"), before) << "a failed commit changes nothing";
    }
    EXPECT_TRUE(fresh.store().consistent());
  }
}

TEST_F(XsTransaction, NoConflictWithoutInterference) {
  for (const char* op : {"read a", "write a", "mkdir new", "rm a", "dir t"}) {
    uint32_t tx = inside.start();
    run_op(inside, op, tx);
    EXPECT_EQ(inside.commit(tx), kOK) << op;
  }
}

TEST_F(XsTransaction, ReadsSeeTheirOwnWritesOthersDoNot) {
  uint32_t tx = inside.start();
  EXPECT_EQ(inside.write("/t/a", "new", tx), kOK);
  EXPECT_EQ(inside.write("/t/n/deep", "d", tx), kOK);
  EXPECT_EQ(inside.rm("/t/b", tx), kOK);
  EXPECT_EQ(inside.read("/t/a", tx), "new");
  EXPECT_EQ(inside.read("/t/n/deep", tx), "d");
  EXPECT_EQ(inside.read("/t/b", tx), "E:ENOENT");
  EXPECT_EQ(inside.dir("/t", tx), list({"a", "n"}));
  EXPECT_EQ(outside.read("/t/a"), "1");
  EXPECT_EQ(outside.read("/t/n/deep"), "E:ENOENT");
  EXPECT_EQ(outside.read("/t/b"), "2");
  EXPECT_EQ(outside.dir("/t"), list({"a", "b"}));
  EXPECT_EQ(inside.read("/t/a"), "1") << "the same client outside its transaction";
  EXPECT_EQ(inside.commit(tx), kOK);
  EXPECT_EQ(outside.read("/t/a"), "new");
  EXPECT_EQ(outside.read("/t/n/deep"), "d");
  EXPECT_EQ(outside.read("/t/b"), "E:ENOENT");
  EXPECT_EQ(outside.dir("/t"), list({"a", "n"}));
  EXPECT_TRUE(core.store().consistent());
}

TEST_F(XsTransaction, AbortDiscardsAndFiresNothing) {
  ASSERT_EQ(outside.watch("/t", "w"), kOK);
  EXPECT_EQ(outside.events(), std::vector<std::string>{"/t|w"});
  uint32_t tx = inside.start();
  EXPECT_EQ(inside.write("/t/a", "new", tx), kOK);
  EXPECT_EQ(inside.rm("/t/b", tx), kOK);
  EXPECT_TRUE(outside.events().empty()) << "nothing fires before commit";
  EXPECT_EQ(inside.abort(tx), kOK);
  EXPECT_TRUE(outside.events().empty());
  EXPECT_EQ(outside.read("/t/a"), "1");
  EXPECT_EQ(outside.read("/t/b"), "2");
  EXPECT_EQ(inside.commit(tx), "E:ENOENT") << "an ended transaction is gone";
}

TEST_F(XsTransaction, WatchesFireOnCommitInOrder) {
  ASSERT_EQ(outside.watch("/t", "w"), kOK);
  outside.events();
  uint32_t tx = inside.start();
  EXPECT_EQ(inside.write("/t/a", "x", tx), kOK);
  EXPECT_EQ(inside.rm("/t/b", tx), kOK);
  EXPECT_TRUE(outside.events().empty());
  EXPECT_EQ(inside.commit(tx), kOK);
  EXPECT_EQ(outside.events(), (std::vector<std::string>{"/t/a|w", "/t/b|w"}));
}

TEST_F(XsTransaction, FailedCommitFiresNothing) {
  ASSERT_EQ(outside.watch("/t/b", "w"), kOK);
  outside.events();
  uint32_t tx = inside.start();
  EXPECT_EQ(inside.write("/t/b", "x", tx), kOK);
  EXPECT_EQ(outside.write("/t/b", "y"), kOK);
  EXPECT_EQ(outside.events(), std::vector<std::string>{"/t/b|w"});
  EXPECT_EQ(inside.commit(tx), "E:EAGAIN");
  EXPECT_TRUE(outside.events().empty());
  EXPECT_EQ(outside.read("/t/b"), "y");
}

TEST_F(XsTransaction, TwoTransactionsOnOneNodeFirstWins) {
  uint32_t t1 = inside.start();
  uint32_t t2 = outside.start();
  EXPECT_EQ(inside.write("/t/a", "one", t1), kOK);
  EXPECT_EQ(outside.write("/t/a", "two", t2), kOK);
  EXPECT_EQ(inside.commit(t1), kOK);
  EXPECT_EQ(outside.commit(t2), "E:EAGAIN");
  EXPECT_EQ(outside.read("/t/a"), "one");
}

TEST_F(XsTransaction, ReadOfMissingNodeConflictsWithItsCreation) {
  uint32_t tx = inside.start();
  EXPECT_EQ(inside.read("/t/ghost", tx), "E:ENOENT");
  EXPECT_EQ(outside.write("/t/ghost", "boo"), kOK);
  EXPECT_EQ(inside.commit(tx), "E:EAGAIN");
}

TEST_F(XsTransaction, RemoveAndRecreateInOneTransaction) {
  uint32_t tx = inside.start();
  EXPECT_EQ(inside.rm("/t/a", tx), kOK);
  EXPECT_EQ(inside.write("/t/a/z", "z", tx), kOK);
  EXPECT_EQ(inside.dir("/t/a", tx), list({"z"}));
  EXPECT_EQ(inside.read("/t/a", tx), "");
  EXPECT_EQ(inside.commit(tx), kOK);
  EXPECT_EQ(outside.read("/t/a/c"), "E:ENOENT");
  EXPECT_EQ(outside.read("/t/a/z"), "z");
  EXPECT_EQ(outside.dir("/t/a"), list({"z"}));
  EXPECT_EQ(outside.dir("/t"), list({"a", "b"})) << "the parent still lists it";
  EXPECT_TRUE(core.store().consistent());
}

TEST_F(XsTransaction, ChildrenAddedAndDroppedByName) {
  uint32_t tx = inside.start();
  EXPECT_EQ(inside.write("/t/c1", "", tx), kOK);
  EXPECT_EQ(inside.rm("/t/c1", tx), kOK);
  EXPECT_EQ(inside.rm("/t/b", tx), kOK);
  EXPECT_EQ(inside.write("/t/b", "again", tx), kOK);
  EXPECT_EQ(inside.write("/t/c2", "", tx), kOK);
  EXPECT_EQ(inside.dir("/t", tx), list({"a", "b", "c2"}));
  EXPECT_EQ(inside.commit(tx), kOK);
  EXPECT_EQ(outside.dir("/t"), list({"a", "b", "c2"}));
  EXPECT_EQ(outside.read("/t/b"), "again");
  EXPECT_EQ(outside.read("/t/c1"), "E:ENOENT");
  EXPECT_TRUE(core.store().consistent());
}

TEST_F(XsTransaction, IdsAreDistinctAndPrivateToTheirConnection) {
  uint32_t t1 = inside.start();
  uint32_t t2 = inside.start();
  EXPECT_NE(t1, 0u);
  EXPECT_NE(t1, t2);
  EXPECT_EQ(outside.read("/t/a", t1), "E:ENOENT") << "another connection's transaction";
  EXPECT_EQ(inside.call(MsgType::kTransactionStart, {""}, t1), "E:EBUSY") << "no nesting";
  EXPECT_EQ(inside.call(MsgType::kTransactionEnd, {"T"}, 0), "E:ENOENT");
  EXPECT_EQ(inside.call(MsgType::kTransactionEnd, {"X"}, t1), "E:EINVAL");
  EXPECT_EQ(inside.call(MsgType::kTransactionEnd, {"TF"}, t1), "E:EINVAL");
  EXPECT_EQ(inside.commit(t1), kOK);
  EXPECT_EQ(inside.abort(t2), kOK);
}

TEST_F(XsTransaction, WatchRequestsIgnoreTheTransactionId) {
  EXPECT_EQ(inside.call(MsgType::kWatch, {"/t", "w"}, 0xDEAD), kOK);
  EXPECT_EQ(inside.call(MsgType::kUnwatch, {"/t", "w"}, 0xDEAD), kOK);
}

TEST_F(XsTransaction, ResetWatchesDropsTransactions) {
  uint32_t tx = inside.start();
  EXPECT_EQ(inside.call(MsgType::kResetWatches, {""}), kOK);
  EXPECT_EQ(inside.read("/t/a", tx), "E:ENOENT");
}

TEST_F(XsTransaction, GuestQuotaIsCheckedAtCommit) {
  XsOptions small;
  small.max_nodes_per_domain = 4;
  Core c(small);
  Client d0(c, DomId(0));
  Client guest(c, DomId(4));
  ASSERT_EQ(d0.mkdir("/local/domain/4/x"), kOK);
  ASSERT_EQ(d0.mkdir("/local/domain/4/y"), kOK);
  ASSERT_EQ(d0.set_perms("/local/domain/4", {"n4"}), kOK);
  ASSERT_EQ(d0.set_perms("/local/domain/4/x", {"n4"}), kOK);
  ASSERT_EQ(d0.set_perms("/local/domain/4/y", {"n4"}), kOK);  // owns 3
  uint32_t t1 = guest.start();
  uint32_t t2 = guest.start();
  EXPECT_EQ(guest.write("x/a", "1", t1), kOK);
  EXPECT_EQ(guest.write("y/b", "1", t2), kOK);
  EXPECT_EQ(guest.write("y/c", "1", t2), "E:EQUOTA") << "counted with the transaction's own nodes";
  EXPECT_EQ(guest.commit(t1), kOK);
  EXPECT_EQ(guest.commit(t2), "E:EQUOTA") << "no conflict, but t1 used the last node";
  EXPECT_EQ(c.store().owned_by(DomId(4)), 4u);
  EXPECT_EQ(guest.read("y/b"), "E:ENOENT");
  EXPECT_EQ(guest.rm("x/a"), kOK);
  EXPECT_EQ(guest.write("y/b", "1"), kOK) << "removing frees quota";
}

}  // namespace
}  // namespace atl::hv::xs::test
