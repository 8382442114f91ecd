// The messages of a daemon's `run` connection (hypervisor/daemon/run_stream.h):
// cut out of a stream however it arrives, and a stream that is not ours is
// refused rather than misread.
#include <gtest/gtest.h>

#include "run_stream.h"

using namespace atl::hv::fleet;

TEST(RunStream, MessagesComeBackWholeAndInOrder) {
  std::string out = "line one\n\x1d\xff binary too";
  std::string event = R"({"event":"ended","exit_status":42})";
  std::string stream = encode_run_message(RunMessageKind::kOutput, out.data(), out.size()) +
                       encode_run_message(RunMessageKind::kOutput, "", 0) +
                       encode_run_message(RunMessageKind::kEvent, event.data(), event.size());
  RunMessageReader r;
  r.feed(stream.data(), stream.size());
  auto a = r.next(), b = r.next(), c = r.next();
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->kind, RunMessageKind::kOutput);
  EXPECT_EQ(a->bytes, out);
  EXPECT_EQ(b->bytes, "");
  EXPECT_EQ(c->kind, RunMessageKind::kEvent);
  EXPECT_EQ(c->bytes, event);
  EXPECT_FALSE(r.next());
  EXPECT_FALSE(r.broken());
}

TEST(RunStream, AMessageSplitAnywhereWaitsForItsLastByte) {
  std::string big(70000, 'x');  // a length over 16 bits
  std::string stream = encode_run_message(RunMessageKind::kOutput, big.data(), big.size());
  RunMessageReader r;
  for (size_t i = 0; i + 1 < stream.size(); ++i) {
    r.feed(&stream[i], 1);
    if (i % 9973 == 0) {
      ASSERT_FALSE(r.next()) << "a message before its last byte, at " << i;
    }
  }
  EXPECT_FALSE(r.next());
  r.feed(&stream.back(), 1);
  auto m = r.next();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->bytes, big);
}

TEST(RunStream, AnUnknownKindBreaksTheStream) {
  std::string stream = std::string("{\"ok\":true}\n");  // a JSON answer, not a message
  RunMessageReader r;
  r.feed(stream.data(), stream.size());
  EXPECT_FALSE(r.next());
  EXPECT_TRUE(r.broken());
  std::string good = encode_run_message(RunMessageKind::kOutput, "a", 1);
  r.feed(good.data(), good.size());
  EXPECT_FALSE(r.next()) << "nothing after a broken stream is believed";
}
