// Permissions: the text form, Xen's access rule (owner, then the first entry
// naming the domain, else the default), what guests may read and write, what
// errors say about nodes a caller may not see, and owner changes.
#include "xs_perms.h"

#include "xs_test_support.h"

namespace atl::hv::xs::test {
namespace {

TEST(XsPerms, ParseAndFormat) {
  auto p = parse_perm("r5");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->domid, DomId(5));
  EXPECT_EQ(p->mode, PermMode::kRead);
  EXPECT_EQ(parse_perm("n0")->mode, PermMode::kNone);
  EXPECT_EQ(parse_perm("w12")->mode, PermMode::kWrite);
  EXPECT_EQ(parse_perm("b65535")->domid, DomId(65535));
  for (std::string_view bad : {"", "r", "x5", "r-1", "r5x", "r65536", "R5", " r5", "r 5", "r0000000"})
    EXPECT_FALSE(parse_perm(bad).has_value()) << bad;
  EXPECT_EQ(format_perm(Perm{DomId(7), PermMode::kBoth}), "b7");
  EXPECT_EQ(format_perms({Perm{DomId(0), PermMode::kNone}, Perm{DomId(3), PermMode::kRead}}),
            std::string("n0\0r3\0", 6));
}

TEST(XsPerms, AccessRule) {
  Perms p{Perm{DomId(5), PermMode::kNone}, Perm{DomId(6), PermMode::kRead},
          Perm{DomId(7), PermMode::kWrite}, Perm{DomId(6), PermMode::kBoth}};
  Access all = Access::kRead | Access::kWrite | Access::kOwner;
  EXPECT_EQ(access_for(DomId(0), p), all) << "domain 0 may do anything";
  EXPECT_EQ(access_for(DomId(5), p), all) << "the owner may do anything";
  EXPECT_EQ(access_for(DomId(6), p), Access::kRead) << "the first entry naming it wins";
  EXPECT_EQ(access_for(DomId(7), p), Access::kWrite);
  EXPECT_EQ(access_for(DomId(8), p), Access::kNone) << "others get entry 0's mode";
  Perms open{Perm{DomId(5), PermMode::kBoth}};
  EXPECT_EQ(access_for(DomId(8), open), Access::kRead | Access::kWrite);
  EXPECT_FALSE(includes(access_for(DomId(8), open), Access::kOwner));
}

class XsPermChecks : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* home : {"/local/domain/1", "/local/domain/2"}) {
      ASSERT_EQ(dom0.mkdir(home), kOK);
      std::string owner = std::string("n") + home[14];
      ASSERT_EQ(dom0.set_perms(home, {owner}), kOK);
    }
    ASSERT_EQ(dom0.write("/local/domain/2/secret", "s"), kOK);
    ASSERT_EQ(dom0.write("/shared/ro", "r"), kOK);
    ASSERT_EQ(dom0.set_perms("/shared", {"n0", "r1"}), kOK);
    ASSERT_EQ(dom0.set_perms("/shared/ro", {"n0", "r1"}), kOK);
  }
  XsOptions options;
  Core core{options};
  Client dom0{core, DomId(0)};
  Client g1{core, DomId(1)};
  Client g2{core, DomId(2)};
};

TEST_F(XsPermChecks, GuestsStayInTheirOwnHome) {
  EXPECT_EQ(g1.write("data", "mine"), kOK);
  EXPECT_EQ(g1.read("/local/domain/1/data"), "mine");
  EXPECT_EQ(g1.read("/local/domain/2/secret"), "E:EACCES");
  EXPECT_EQ(g1.write("/local/domain/2/secret", "x"), "E:EACCES");
  EXPECT_EQ(g1.write("/local/domain/2/new", "x"), "E:EACCES");
  EXPECT_EQ(g1.rm("/local/domain/2/secret"), "E:EACCES");
  EXPECT_EQ(g1.dir("/local/domain/2"), "E:EACCES");
  EXPECT_EQ(g1.get_perms("/local/domain/2"), "E:EACCES");
  EXPECT_EQ(g1.set_perms("/local/domain/2", {"n1"}), "E:EACCES");
  EXPECT_EQ(g1.write("/toplevel", "x"), "E:EACCES");
  EXPECT_EQ(g1.read("/tool/xenstored"), "E:EACCES");
  EXPECT_EQ(g2.read("/local/domain/2/secret"), "s") << "dom0 created it under 2's home: 2 owns it";
  EXPECT_EQ(dom0.read("/local/domain/1/data"), "mine");
  EXPECT_EQ(dom0.write("/local/domain/1/data", "dom0 too"), kOK);
}

TEST_F(XsPermChecks, MissingNodesLeakNothing) {
  EXPECT_EQ(g1.read("/local/domain/1/nope"), "E:ENOENT");
  EXPECT_EQ(g1.read("/local/domain/2/nope"), "E:EACCES") << "not ENOENT: 2's home is closed to 1";
  EXPECT_EQ(g1.read("/local/domain/2/nope/deeper"), "E:EACCES");
  EXPECT_EQ(g1.read("/local/domain/77/x"), "E:EACCES") << "nearest ancestor /local/domain is dom0's";
}

TEST_F(XsPermChecks, ReadGrantsAreReadOnly) {
  EXPECT_EQ(g1.read("/shared/ro"), "r");
  EXPECT_EQ(g1.write("/shared/ro", "x"), "E:EACCES");
  EXPECT_EQ(g1.write("/shared/new", "x"), "E:EACCES");
  EXPECT_EQ(g1.rm("/shared/ro"), "E:EACCES");
  EXPECT_EQ(g2.read("/shared/ro"), "E:EACCES");
  EXPECT_EQ(g1.get_perms("/shared/ro"), std::string("n0\0r1\0", 6));
}

TEST_F(XsPermChecks, NewNodesInheritWithTheGuestAsOwner) {
  ASSERT_EQ(dom0.write("/drop", ""), kOK);
  ASSERT_EQ(dom0.set_perms("/drop", {"n0", "w1", "r2"}), kOK);
  EXPECT_EQ(g1.write("/drop/box/item", "x"), kOK) << "write access creates intermediate nodes";
  EXPECT_EQ(dom0.get_perms("/drop/box"), std::string("n1\0w1\0r2\0", 9));
  EXPECT_EQ(dom0.get_perms("/drop/box/item"), std::string("n1\0w1\0r2\0", 9));
  EXPECT_EQ(g1.read("/drop/box/item"), "x") << "owners may read what they own";
  EXPECT_EQ(g2.read("/drop/box/item"), "x");
  EXPECT_EQ(g2.write("/drop/box/item", "y"), "E:EACCES");
  EXPECT_EQ(core.store().owned_by(DomId(1)), 3u) << "home, box, item";
  EXPECT_EQ(dom0.write("/drop/by-dom0", ""), kOK);
  EXPECT_EQ(dom0.get_perms("/drop/by-dom0"), std::string("n0\0w1\0r2\0", 9))
      << "domain 0's new nodes keep the parent's owner";
}

TEST_F(XsPermChecks, OwnersShareButCannotGiveAway) {
  EXPECT_EQ(g1.write("data/x", "1"), kOK);
  EXPECT_EQ(g1.set_perms("data/x", {"n1", "r2"}), kOK);
  EXPECT_EQ(g2.read("/local/domain/1/data/x"), "1");
  EXPECT_EQ(g1.set_perms("data/x", {"n2"}), "E:EPERM");
  EXPECT_EQ(g1.set_perms("data/x", {"q1"}), "E:EINVAL");
  EXPECT_EQ(dom0.set_perms("/local/domain/1/data/x", {"n2"}), kOK) << "domain 0 may";
  EXPECT_EQ(g2.write("/local/domain/1/data/x", "mine now"), kOK);
  EXPECT_EQ(g1.read("/local/domain/1/data/x"), "E:EACCES");
  EXPECT_EQ(core.store().owned_by(DomId(2)), 3u);
}

TEST_F(XsPermChecks, WriteAccessWithoutOwnershipCannotSetPerms) {
  ASSERT_EQ(dom0.write("/w", ""), kOK);
  ASSERT_EQ(dom0.set_perms("/w", {"n0", "b1"}), kOK);
  EXPECT_EQ(g1.write("/w", "v"), kOK);
  EXPECT_EQ(g1.set_perms("/w", {"n0", "b1", "r2"}), "E:EACCES");
}

TEST_F(XsPermChecks, SpecialNodesHavePermissions) {
  EXPECT_EQ(dom0.get_perms("@releaseDomain"), std::string("n0\0", 3));
  EXPECT_EQ(g1.get_perms("@releaseDomain"), "E:EACCES");
  EXPECT_EQ(g1.set_perms("@releaseDomain", {"n1"}), "E:EACCES");
  EXPECT_EQ(dom0.set_perms("@releaseDomain", {"n0", "r1"}), kOK);
  EXPECT_EQ(g1.get_perms("@releaseDomain"), std::string("n0\0r1\0", 6));
  EXPECT_EQ(g1.read("@releaseDomain"), "E:EINVAL") << "not a node";
}

}  // namespace
}  // namespace atl::hv::xs::test
