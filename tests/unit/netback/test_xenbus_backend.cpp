// The backend half of the xenbus handshake, as one table (xenbus_backend.h).
#include <gtest/gtest.h>

#include "xenbus_backend.h"

using namespace atl::hv;

namespace {

std::string s(XenbusState st) { return std::to_string(static_cast<int>(st)); }

}  // namespace

TEST(XenbusBackend, FrontendGoneDisconnectsAndCloses) {
  auto r = react_to_frontend(std::nullopt, XenbusStateConnected);
  EXPECT_TRUE(r.disconnect);
  EXPECT_FALSE(r.connect);
  EXPECT_EQ(r.state, XenbusStateClosed);
  EXPECT_FALSE(react_to_frontend(std::nullopt, XenbusStateClosed).state.has_value());
}

TEST(XenbusBackend, ConnectsOnlyFromInitWait) {
  for (auto fe : {XenbusStateInitialised, XenbusStateConnected}) {
    EXPECT_TRUE(react_to_frontend(s(fe), XenbusStateInitWait).connect);
    EXPECT_FALSE(react_to_frontend(s(fe), XenbusStateConnected).connect);
    EXPECT_FALSE(react_to_frontend(s(fe), XenbusStateClosed).connect);
  }
}

TEST(XenbusBackend, ReconnectOffersInitWaitAgain) {
  EXPECT_EQ(react_to_frontend(s(XenbusStateInitialising), XenbusStateClosed).state, XenbusStateInitWait);
  EXPECT_FALSE(react_to_frontend(s(XenbusStateInitialising), XenbusStateInitWait).state.has_value());
}

TEST(XenbusBackend, FollowsClosingAndClosed) {
  auto closing = react_to_frontend(s(XenbusStateClosing), XenbusStateConnected);
  EXPECT_TRUE(closing.disconnect);
  EXPECT_EQ(closing.state, XenbusStateClosing);
  auto closed = react_to_frontend(s(XenbusStateClosed), XenbusStateClosing);
  EXPECT_TRUE(closed.disconnect);
  EXPECT_EQ(closed.state, XenbusStateClosed);
}

TEST(XenbusBackend, GarbageStateIsIgnored) {
  for (const char* text : {"", "x", "4 ", "-1", "99999999999", "7"}) {
    auto r = react_to_frontend(std::string(text), XenbusStateConnected);
    EXPECT_FALSE(r.disconnect) << text;
    EXPECT_FALSE(r.connect) << text;
    EXPECT_FALSE(r.state.has_value()) << text;
  }
}

TEST(XenbusBackend, ParseU32) {
  EXPECT_EQ(parse_u32("0"), 0u);
  EXPECT_EQ(parse_u32("4294967295"), 4294967295u);
  EXPECT_FALSE(parse_u32("4294967296"));
  EXPECT_FALSE(parse_u32("+1"));
  EXPECT_FALSE(parse_u32(""));
}
