// httpd's memory budget: admission while there is room, 503 within the
// overdraft, a plain close beyond it, and charges that follow and release.
#include <gtest/gtest.h>

#include "memory_budget.h"

using namespace atl::httpd;
using Admission = MemoryBudget::Admission;

TEST(MemoryBudget, NoLimitServesEverything) {
  MemoryBudget budget(0);
  MemoryBudget::Charge c(budget);
  c.set(uint64_t{1} << 40);
  EXPECT_EQ(budget.admit(uint64_t{1} << 40), Admission::Serve);
}

TEST(MemoryBudget, ServesWhileThereIsRoomThenRefusesThenDrops) {
  MemoryBudget budget(80'000);
  EXPECT_EQ(budget.admit(80'000), Admission::Serve);
  EXPECT_EQ(budget.admit(80'001), Admission::Refuse);
  MemoryBudget::Charge a(budget);
  a.set(60'000);
  EXPECT_EQ(budget.admit(20'000), Admission::Serve);
  EXPECT_EQ(budget.admit(20'001), Admission::Refuse);
  MemoryBudget::Charge b(budget);
  b.set(20'000);
  EXPECT_EQ(budget.admit(1), Admission::Refuse) << "a 503 (2 KiB) fits the overdraft of an eighth (10,000)";
  b.set(28'000);  // an admitted connection may grow past the limit
  EXPECT_EQ(budget.used(), 88'000u);
  EXPECT_EQ(budget.admit(1), Admission::Drop) << "beyond the overdraft even a 503 is not afforded";
}

TEST(MemoryBudget, ChargesFollowAndRelease) {
  MemoryBudget budget(1'000'000);
  {
    MemoryBudget::Charge a(budget);
    a.set(5'000);
    a.set(3'000);
    EXPECT_EQ(a.bytes(), 3'000u);
    MemoryBudget::Charge b(budget);
    b.set(7'000);
    EXPECT_EQ(budget.used(), 10'000u);
  }
  EXPECT_EQ(budget.used(), 0u) << "a connection's end releases its charge";
}

TEST(MemoryBudget, NativeDefaultIsUnlimited) { EXPECT_EQ(default_memory_budget(), 0u); }
