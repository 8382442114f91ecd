// Per-domain quotas: nodes owned, watches, open transactions, value size and
// permission entries. Guests hit them (EQUOTA / ENOSPC); domain 0 does not; the
// limits come from XsOptions and are released when things go away.
#include "xs_test_support.h"

namespace atl::hv::xs::test {
namespace {

class XsQuota : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(dom0.mkdir("/local/domain/3"), kOK);
    ASSERT_EQ(dom0.set_perms("/local/domain/3", {"n3"}), kOK);
  }
  XsOptions options;  // Xen's defaults
  Core core{options};
  Client dom0{core, DomId(0)};
  Client guest{core, DomId(3)};
};

TEST_F(XsQuota, DefaultsAreXens) {
  EXPECT_EQ(options.max_nodes_per_domain, 1000u);
  EXPECT_EQ(options.max_watches_per_domain, 128u);
  EXPECT_EQ(options.max_transactions_per_domain, 10u);
  EXPECT_EQ(options.max_value_bytes, 2048u);
}

TEST_F(XsQuota, NodesOwned) {
  // The home counts: 999 more nodes fit, the 1000th more does not.
  for (int i = 1; i < 1000; ++i) ASSERT_EQ(guest.write("n" + std::to_string(i), ""), kOK) << i;
  EXPECT_EQ(core.store().owned_by(DomId(3)), 1000u);
  EXPECT_EQ(guest.write("one-more", ""), "E:EQUOTA");
  EXPECT_EQ(guest.mkdir("one-more"), "E:EQUOTA");
  EXPECT_EQ(guest.write("n1", "changing a value needs no new node"), kOK);
  EXPECT_EQ(guest.read("one-more"), "E:ENOENT") << "nothing half-created";
  EXPECT_EQ(guest.rm("n1"), kOK);
  EXPECT_EQ(guest.write("one-more", ""), kOK) << "removal gives the quota back";
  EXPECT_EQ(dom0.write("/local/domain/3/by-dom0", ""), kOK) << "domain 0 is not limited";
  EXPECT_TRUE(core.store().consistent());
}

TEST_F(XsQuota, IntermediateNodesCountToo) {
  XsOptions small;
  small.max_nodes_per_domain = 3;
  Core c(small);
  Client d0(c, DomId(0));
  Client g(c, DomId(3));
  ASSERT_EQ(d0.mkdir("/local/domain/3"), kOK);
  ASSERT_EQ(d0.set_perms("/local/domain/3", {"n3"}), kOK);
  EXPECT_EQ(g.write("a/b/c", "x"), "E:EQUOTA") << "three new nodes on top of the home";
  EXPECT_EQ(g.dir("/local/domain/3"), "") << "none of them was created";
  EXPECT_EQ(g.write("a/b", "x"), kOK);
}

TEST_F(XsQuota, ValueSize) {
  std::string max(options.max_value_bytes, 'v');
  EXPECT_EQ(guest.write("big", max), kOK);
  EXPECT_EQ(guest.write("bigger", max + "v"), "E:ENOSPC");
  EXPECT_EQ(guest.read("bigger"), "E:ENOENT");
  EXPECT_EQ(dom0.write("/local/domain/3/dom0-big", max + max.substr(0, 1000)), kOK);
}

TEST_F(XsQuota, Watches) {
  for (uint32_t i = 0; i < options.max_watches_per_domain; ++i)
    ASSERT_EQ(guest.watch("w", "t" + std::to_string(i)), kOK) << i;
  EXPECT_EQ(guest.watch("w", "one-more"), "E:EQUOTA");
  EXPECT_EQ(guest.unwatch("w", "t0"), kOK);
  EXPECT_EQ(guest.watch("w", "one-more"), kOK);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(dom0.watch("/w", "t" + std::to_string(i)), kOK);
}

TEST_F(XsQuota, Transactions) {
  std::vector<uint32_t> open;
  for (uint32_t i = 0; i < options.max_transactions_per_domain; ++i) {
    open.push_back(guest.start());
    ASSERT_NE(open.back(), 0u) << guest.last_error;
  }
  EXPECT_EQ(guest.start(), 0u);
  EXPECT_EQ(guest.last_error, "E:EQUOTA");
  EXPECT_EQ(guest.abort(open[0]), kOK);
  EXPECT_NE(guest.start(), 0u);
  for (int i = 0; i < 50; ++i) ASSERT_NE(dom0.start(), 0u);
}

TEST_F(XsQuota, PermissionEntries) {
  ASSERT_EQ(guest.write("p", ""), kOK);
  EXPECT_EQ(guest.set_perms("p", {"n3", "r1", "r2", "r4", "r5"}), kOK);
  EXPECT_EQ(guest.set_perms("p", {"n3", "r1", "r2", "r4", "r5", "r6"}), "E:EQUOTA");
  EXPECT_EQ(dom0.set_perms("/local/domain/3/p", {"n3", "r1", "r2", "r4", "r5", "r6"}), kOK);
}

TEST_F(XsQuota, NodesATransactionHolds) {
  uint32_t tx = guest.start();
  ASSERT_NE(tx, 0u);
  // Reads of missing nodes cost memory until the transaction ends, too.
  uint32_t i = 0;
  std::string r;
  for (; i < 2 * options.max_transaction_nodes; ++i) {
    r = guest.read("missing-" + std::to_string(i), tx);
    if (r != "E:ENOENT") break;
  }
  EXPECT_EQ(r, "E:EQUOTA");
  EXPECT_GE(i, options.max_transaction_nodes - 2);
  EXPECT_LE(i, options.max_transaction_nodes);
  EXPECT_EQ(guest.write("data", "x", tx), "E:EQUOTA");
  EXPECT_EQ(guest.abort(tx), kOK) << "it can still end";
  EXPECT_EQ(guest.read("missing-0"), "E:ENOENT");
  uint32_t tx0 = dom0.start();
  for (uint32_t j = 0; j < 2 * options.max_transaction_nodes; ++j)
    ASSERT_EQ(dom0.read("/missing-" + std::to_string(j), tx0), "E:ENOENT") << "domain 0 is not limited";
}

TEST_F(XsQuota, LimitsAreConfigurable) {
  XsOptions o;
  o.max_watches_per_domain = 1;
  o.max_transactions_per_domain = 1;
  o.max_value_bytes = 4;
  Core c(o);
  Client g(c, DomId(3));
  EXPECT_EQ(g.watch("a", "1"), kOK);
  EXPECT_EQ(g.watch("a", "2"), "E:EQUOTA");
  EXPECT_NE(g.start(), 0u);
  EXPECT_EQ(g.start(), 0u);
  Client d0(c, DomId(0));
  ASSERT_EQ(d0.mkdir("/local/domain/3"), kOK);
  ASSERT_EQ(d0.set_perms("/local/domain/3", {"n3"}), kOK);
  EXPECT_EQ(g.write("v", "1234"), kOK);
  EXPECT_EQ(g.write("v", "12345"), "E:ENOSPC");
}

TEST_F(XsQuota, OneGuestAtItsLimitsDoesNotAffectAnother) {
  for (uint32_t i = 0; i < options.max_watches_per_domain; ++i) ASSERT_EQ(guest.watch("w", std::to_string(i)), kOK);
  Client other(core, DomId(4));
  EXPECT_EQ(other.watch("w", "mine"), kOK);
  EXPECT_NE(other.start(), 0u);
}

}  // namespace
}  // namespace atl::hv::xs::test
