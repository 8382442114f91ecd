// Domain ids under the daemon (hypervisor/daemon/domid_registry.h): the lowest
// free id from 1, reused once released, never 0 or a reserved id.
#include <gtest/gtest.h>

#include "daemon/domid_registry.h"

using atl::hv::fleet::DomidRegistry;

TEST(DomidRegistry, StartsAtOneInOrder) {
  DomidRegistry ids;
  for (uint16_t want = 1; want <= 5; ++want) EXPECT_EQ(ids.allocate(), want);
  EXPECT_EQ(ids.size(), 5u);
}

TEST(DomidRegistry, ReusesTheLowestFreeId) {
  DomidRegistry ids;
  for (int i = 0; i < 6; ++i) (void)ids.allocate();
  ids.release(4);
  ids.release(2);
  EXPECT_EQ(ids.allocate(), 2);
  EXPECT_EQ(ids.allocate(), 4);
  EXPECT_EQ(ids.allocate(), 7);
}

TEST(DomidRegistry, ReleasingAnUnknownIdChangesNothing) {
  DomidRegistry ids;
  (void)ids.allocate();
  ids.release(9);
  ids.release(0);
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids.allocate(), 2);
}

TEST(DomidRegistry, StopsBelowTheReservedRange) {
  DomidRegistry ids;
  for (unsigned i = 1; i < DOMID_FIRST_RESERVED; ++i) ASSERT_EQ(ids.allocate(), i);
  EXPECT_FALSE(ids.allocate());
  ids.release(100);
  EXPECT_EQ(ids.allocate(), 100);
}
