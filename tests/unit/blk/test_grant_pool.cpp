// blkfront's persistent grant pool (pv-drivers/block/blkfront_grant_pool.h)
// against a fake granter: reuse order, the cap, grant failures, and release of
// pages the backend still maps.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "blkfront_grant_pool.h"

using namespace atl;
using namespace atl::blk;

namespace {

struct FakeTable {
  unsigned next_ref = 8;
  unsigned refs_left = 1000;  // grant table room
  std::set<unsigned> granted;
  std::set<unsigned> mapped;  // refs the "backend" still maps
  std::vector<unsigned> freed;
};

struct FakeGranter {
  FakeTable* t;
  std::optional<PooledPage> grant_page() {
    if (t->refs_left == 0) return std::nullopt;
    --t->refs_left;
    unsigned ref = t->next_ref++;
    t->granted.insert(ref);
    return PooledPage{reinterpret_cast<void*>(uintptr_t{ref} << 12), GrantRef(ref)};
  }
  bool end_grant(const PooledPage& p) {
    if (t->mapped.count(p.ref.value())) return false;
    t->granted.erase(p.ref.value());
    return true;
  }
  void free_page(const PooledPage& p) { t->freed.push_back(p.ref.value()); }
};

TEST(GrantPool, GrantsLazilyAndReusesTheLastReturnedPageFirst) {
  FakeTable t;
  GrantPool<FakeGranter> pool(FakeGranter{&t}, 4);
  EXPECT_EQ(pool.granted(), 0u);
  auto a = pool.get(), b = pool.get();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->ref.value(), b->ref.value());
  EXPECT_EQ(pool.granted(), 2u);
  pool.put(*a);
  pool.put(*b);
  auto c = pool.get();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->ref.value(), b->ref.value());  // LIFO: the backend's cache stays warm
  EXPECT_EQ(c->va, b->va);
  EXPECT_EQ(pool.granted(), 2u);  // no new grant
  EXPECT_EQ(t.granted.size(), 2u);
}

TEST(GrantPool, StopsAtTheCapUntilAPageComesBack) {
  FakeTable t;
  GrantPool<FakeGranter> pool(FakeGranter{&t}, 3);
  std::vector<PooledPage> out;
  for (int i = 0; i < 3; ++i) out.push_back(*pool.get());
  EXPECT_EQ(pool.available(), 0u);
  EXPECT_FALSE(pool.get());
  EXPECT_EQ(t.granted.size(), 3u);
  pool.put(out[1]);
  EXPECT_EQ(pool.available(), 1u);
  auto p = pool.get();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->ref.value(), out[1].ref.value());
}

TEST(GrantPool, AGrantTableFullIsNotCounted) {
  FakeTable t;
  t.refs_left = 1;
  GrantPool<FakeGranter> pool(FakeGranter{&t}, 8);
  ASSERT_TRUE(pool.get());
  EXPECT_FALSE(pool.get());
  EXPECT_EQ(pool.granted(), 1u);
  t.refs_left = 1;
  EXPECT_TRUE(pool.get());
  EXPECT_EQ(pool.granted(), 2u);
}

TEST(GrantPool, ReleaseAllEndsGrantsAndLeaksPagesStillMapped) {
  FakeTable t;
  GrantPool<FakeGranter> pool(FakeGranter{&t}, 8);
  auto a = *pool.get(), b = *pool.get(), c = *pool.get();
  pool.put(a);
  pool.put(b);
  pool.put(c);
  t.mapped.insert(b.ref.value());
  EXPECT_EQ(pool.release_all(), 1u);
  EXPECT_EQ(t.granted, std::set<unsigned>{b.ref.value()});
  EXPECT_EQ(t.freed.size(), 2u);
  for (unsigned r : t.freed) EXPECT_NE(r, b.ref.value());  // a mapped page is never freed
  EXPECT_EQ(pool.granted(), 0u);
  EXPECT_EQ(pool.free_pages(), 0u);
}

TEST(GrantPool, DestructorReleasesFreePages) {
  FakeTable t;
  {
    GrantPool<FakeGranter> pool(FakeGranter{&t}, 8);
    pool.put(*pool.get());
  }
  EXPECT_TRUE(t.granted.empty());
  EXPECT_EQ(t.freed.size(), 1u);
}

}  // namespace
