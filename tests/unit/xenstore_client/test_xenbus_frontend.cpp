// The xenbus frontend state machine, driven by a fake backend that follows the
// frontend's state the way Linux's netback/blkback do (see docs/xenbus.md).
#include <deque>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "atoll/xenbus_frontend.h"

namespace atl::xs {
namespace {

using Log = std::vector<std::string>;

// The backend's half: reacts to each state the frontend publishes.
struct BackendModel {
  XenbusState state;
  Handshake handshake;

  std::optional<XenbusState> react(XenbusState frontend) {
    switch (frontend) {
      case XenbusStateInitialising:
        if (state == XenbusStateClosed) return set(XenbusStateInitWait);  // ready for a reconnect
        break;
      case XenbusStateInitialised:
        if (handshake == Handshake::kViaInitialised && state == XenbusStateInitWait) return set(XenbusStateConnected);
        break;
      case XenbusStateConnected:
        if (state == XenbusStateInitWait) return set(XenbusStateConnected);
        break;
      case XenbusStateClosing:
        if (state != XenbusStateClosing && state != XenbusStateClosed) return set(XenbusStateClosing);
        break;
      case XenbusStateClosed:
        if (state != XenbusStateClosed) return set(XenbusStateClosed);
        break;
      default:
        break;
    }
    return std::nullopt;
  }
  XenbusState set(XenbusState s) { return state = s; }
};

class Harness : public XenbusFrontend::Actions {
 public:
  explicit Harness(Handshake handshake, XenbusState backend_initial = XenbusStateInitWait)
      : fsm(*this, handshake), backend{backend_initial, handshake} {}

  Result<void> publish_state(XenbusState s) override {
    log.push_back(std::string("F:") + state_name(s));
    if (!publish_result.ok()) return publish_result;
    if (backend_present && backend_reacts)
      if (auto b = backend.react(s)) pending.push_back(*b);
    return {};
  }
  Result<void> backend_ready() override {
    log.push_back("ready");
    ++readies;
    return ready_result;
  }
  Result<void> connect() override {
    log.push_back("connect");
    ++connects;
    return connect_result;
  }
  void disconnect() override { log.push_back("disconnect"); }
  void release() override {
    log.push_back("release");
    ++releases;
  }

  // The frontend starts; the watch's first event carries the backend's state.
  void start() {
    fsm.start();
    pending.push_back(backend_present ? std::optional(backend.state) : std::nullopt);
    run();
  }
  void backend_goes(XenbusState s) {
    backend_present = true;
    backend.state = s;
    pending.push_back(s);
    run();
  }
  void backend_removed() {
    backend_present = false;
    pending.push_back(std::nullopt);
    run();
  }
  template <typename F>
  void act(F f) {
    f();
    run();
  }
  // The log since the last call.
  Log take() { return std::exchange(log, {}); }

  void run() {
    for (int guard = 0; !pending.empty(); ++guard) {
      ASSERT_LT(guard, 100) << "the handshake does not settle";
      auto b = pending.front();
      pending.pop_front();
      log.push_back(b ? std::string("B:") + state_name(*b) : "B:gone");
      fsm.backend_changed(b);
    }
  }

  XenbusFrontend fsm;
  BackendModel backend;
  bool backend_present = true;
  bool backend_reacts = true;
  Result<void> ready_result, connect_result, publish_result;
  int readies = 0, connects = 0, releases = 0;
  std::deque<std::optional<XenbusState>> pending;
  Log log;
};

void connect(Harness& h) {
  h.start();
  ASSERT_EQ(h.fsm.state(), XenbusStateConnected);
  ASSERT_TRUE(h.fsm.io_running());
  h.take();
}

TEST(XenbusFrontend, ConnectsThroughInitialisedLikeBlkfront) {
  Harness h(Handshake::kViaInitialised);
  h.start();
  EXPECT_EQ(h.take(), (Log{"F:Initialising", "B:InitWait", "ready", "F:Initialised", "B:Connected", "connect",
                           "F:Connected"}));
  EXPECT_EQ(h.fsm.state(), XenbusStateConnected);
  EXPECT_TRUE(h.fsm.io_running());
  EXPECT_TRUE(h.fsm.holds_resources());
  EXPECT_FALSE(h.fsm.error().has_value());
}

TEST(XenbusFrontend, ConnectsDirectlyLikeNetfront) {
  Harness h(Handshake::kConnectDirectly);
  h.start();
  EXPECT_EQ(h.take(), (Log{"F:Initialising", "B:InitWait", "ready", "F:Connected", "B:Connected", "connect"}));
  EXPECT_TRUE(h.fsm.io_running());
}

TEST(XenbusFrontend, WaitsForABackendThatIsNotThereYet) {
  Harness h(Handshake::kViaInitialised, XenbusStateInitialising);
  h.start();
  EXPECT_EQ(h.take(), (Log{"F:Initialising", "B:Initialising"}));
  EXPECT_EQ(h.readies, 0);
  h.backend_goes(XenbusStateInitWait);
  EXPECT_EQ(h.fsm.state(), XenbusStateConnected);
  EXPECT_EQ(h.readies, 1);
}

TEST(XenbusFrontend, StateSeenBeforeStartIsActedOnAtStart) {
  Harness h(Handshake::kViaInitialised);
  h.fsm.backend_changed(XenbusStateInitWait);
  EXPECT_TRUE(h.log.empty());
  h.fsm.start();
  h.run();
  EXPECT_EQ(h.readies, 1);
  EXPECT_EQ(h.fsm.state(), XenbusStateConnected);
}

TEST(XenbusFrontend, BackendClosingClosesThenReconnectsWhenTheBackendIsBack) {
  Harness h(Handshake::kViaInitialised);
  connect(h);
  h.backend_goes(XenbusStateClosing);
  EXPECT_EQ(h.take(), (Log{"B:Closing", "disconnect", "F:Closed", "B:Closed", "release", "F:Initialising",
                           "B:InitWait", "ready", "F:Initialised", "B:Connected", "connect", "F:Connected"}));
  EXPECT_EQ(h.readies, 2);
  EXPECT_EQ(h.releases, 1);
  EXPECT_TRUE(h.fsm.io_running());
}

TEST(XenbusFrontend, ResourcesStayUntilTheBackendIsClosed) {
  Harness h(Handshake::kConnectDirectly);
  connect(h);
  h.backend_reacts = false;
  h.backend_goes(XenbusStateClosing);
  EXPECT_EQ(h.take(), (Log{"B:Closing", "disconnect", "F:Closed"}));
  EXPECT_TRUE(h.fsm.holds_resources());  // the backend may still map the rings
  EXPECT_FALSE(h.fsm.io_running());
  h.backend_goes(XenbusStateClosed);
  EXPECT_EQ(h.take(), (Log{"B:Closed", "release", "F:Initialising"}));
  EXPECT_FALSE(h.fsm.holds_resources());
}

TEST(XenbusFrontend, BackendNodeRemovedTearsDownAndWaitsForANewBackend) {
  Harness h(Handshake::kViaInitialised);
  connect(h);
  h.backend_removed();
  EXPECT_EQ(h.take(), (Log{"B:gone", "disconnect", "release", "F:Initialising"}));
  EXPECT_FALSE(h.fsm.io_running());
  EXPECT_FALSE(h.fsm.holds_resources());
  EXPECT_EQ(h.fsm.state(), XenbusStateInitialising);
  h.backend_goes(XenbusStateInitWait);  // the toolstack made a new backend
  EXPECT_EQ(h.take(), (Log{"B:InitWait", "ready", "F:Initialised", "B:Connected", "connect", "F:Connected"}));
}

TEST(XenbusFrontend, BackendBackAtInitWaitWhileConnectedReconnects) {
  Harness h(Handshake::kConnectDirectly);
  connect(h);
  h.backend_goes(XenbusStateInitWait);
  EXPECT_EQ(h.take(), (Log{"B:InitWait", "disconnect", "release", "F:Initialising", "ready", "F:Connected",
                           "B:Connected", "connect"}));
  EXPECT_EQ(h.readies, 2);
  EXPECT_TRUE(h.fsm.io_running());
}

TEST(XenbusFrontend, BackendRestartingThroughInitialisingReconnects) {
  Harness h(Handshake::kViaInitialised);
  connect(h);
  h.backend_goes(XenbusStateInitialising);
  EXPECT_EQ(h.take(), (Log{"B:Initialising", "disconnect", "release", "F:Initialising"}));
  h.backend_goes(XenbusStateInitWait);
  EXPECT_EQ(h.fsm.state(), XenbusStateConnected);
  EXPECT_EQ(h.readies, 2);
}

TEST(XenbusFrontend, RepeatedInitWaitIsAnsweredOnce) {
  Harness h(Handshake::kViaInitialised);
  h.backend_reacts = false;
  h.start();
  h.backend_goes(XenbusStateInitWait);
  h.backend_goes(XenbusStateInitWait);
  EXPECT_EQ(h.readies, 1);
  EXPECT_EQ(h.releases, 0);
  EXPECT_EQ(h.fsm.state(), XenbusStateInitialised);
  h.backend_goes(XenbusStateConnected);
  h.backend_goes(XenbusStateConnected);
  EXPECT_EQ(h.connects, 1);
  EXPECT_EQ(h.fsm.state(), XenbusStateConnected);
}

TEST(XenbusFrontend, DriverCloseGoesDownAndStaysDownUntilReopen) {
  Harness h(Handshake::kViaInitialised);
  connect(h);
  h.act([&] { h.fsm.close(); });
  EXPECT_EQ(h.take(), (Log{"disconnect", "F:Closing", "B:Closing", "F:Closed", "B:Closed", "release"}));
  EXPECT_EQ(h.fsm.state(), XenbusStateClosed);
  EXPECT_EQ(h.readies, 1);
  h.act([&] { h.fsm.reopen(); });
  EXPECT_EQ(h.take(), (Log{"F:Initialising", "B:InitWait", "ready", "F:Initialised", "B:Connected", "connect",
                           "F:Connected"}));
}

TEST(XenbusFrontend, CloseWithNoBackendConnectedIsImmediate) {
  Harness h(Handshake::kViaInitialised, XenbusStateInitialising);
  h.start();
  h.take();
  h.act([&] { h.fsm.close(); });
  EXPECT_EQ(h.take(), (Log{"F:Closed", "B:Closed"}));
  h.backend_goes(XenbusStateInitWait);  // no reconnect after a close
  EXPECT_EQ(h.readies, 0);
}

TEST(XenbusFrontend, CloseAfterOfferingTheRingsWaitsForTheBackendToLetGo) {
  Harness h(Handshake::kViaInitialised);
  h.backend_reacts = false;
  h.start();
  ASSERT_EQ(h.fsm.state(), XenbusStateInitialised);  // the backend may be mapping the rings now
  h.take();
  h.act([&] { h.fsm.close(); });
  EXPECT_EQ(h.take(), (Log{"F:Closing"}));
  EXPECT_TRUE(h.fsm.holds_resources());
  h.backend_goes(XenbusStateClosing);
  h.backend_goes(XenbusStateClosed);
  EXPECT_EQ(h.take(), (Log{"B:Closing", "F:Closed", "B:Closed", "release"}));
}

TEST(XenbusFrontend, FailedSetupClosesOnceAndDoesNotLoop) {
  Harness h(Handshake::kViaInitialised);
  h.ready_result = Errno::kNoMem;
  h.start();
  EXPECT_EQ(h.take(), (Log{"F:Initialising", "B:InitWait", "ready", "release", "F:Closed", "B:Closed"}));
  EXPECT_EQ(h.fsm.error(), Errno::kNoMem);
  EXPECT_EQ(h.fsm.state(), XenbusStateClosed);
  h.backend_goes(XenbusStateInitWait);
  EXPECT_EQ(h.readies, 1);
}

TEST(XenbusFrontend, FailedConnectClosesThroughTheBackend) {
  Harness h(Handshake::kViaInitialised);
  h.connect_result = Errno::kIo;
  h.start();
  EXPECT_EQ(h.take(), (Log{"F:Initialising", "B:InitWait", "ready", "F:Initialised", "B:Connected", "connect",
                           "F:Closing", "B:Closing", "F:Closed", "B:Closed", "release"}));
  EXPECT_EQ(h.fsm.error(), Errno::kIo);
  EXPECT_FALSE(h.fsm.io_running());
}

TEST(XenbusFrontend, StaleConnectedBackendIsResetBeforeConnecting) {
  Harness h(Handshake::kViaInitialised, XenbusStateConnected);
  h.start();
  EXPECT_EQ(h.take(), (Log{"F:Initialising", "B:Connected", "F:Closing", "B:Closing", "F:Closed", "B:Closed",
                           "F:Initialising", "B:InitWait", "ready", "F:Initialised", "B:Connected", "connect",
                           "F:Connected"}));
  EXPECT_EQ(h.readies, 1);
  EXPECT_EQ(h.releases, 0);
}

TEST(XenbusFrontend, StatesAFrontendDoesNotActOnAreIgnored) {
  Harness h(Handshake::kViaInitialised);
  connect(h);
  for (auto s : {XenbusStateUnknown, XenbusStateInitialised, XenbusStateReconfiguring, XenbusStateReconfigured})
    h.backend_goes(s);
  EXPECT_EQ(h.take(), (Log{"B:Unknown", "B:Initialised", "B:Reconfiguring", "B:Reconfigured"}));
  EXPECT_TRUE(h.fsm.io_running());
}

TEST(XenbusFrontend, FailedStateWriteStopsReconnecting) {
  Harness h(Handshake::kViaInitialised);
  connect(h);
  h.publish_result = Errno::kNoEnt;  // the toolstack removed the device
  h.backend_goes(XenbusStateClosing);
  EXPECT_EQ(h.fsm.error(), Errno::kNoEnt);
  h.backend_goes(XenbusStateClosed);
  h.backend_goes(XenbusStateInitWait);
  EXPECT_EQ(h.readies, 1);
  EXPECT_EQ(h.releases, 1);
  EXPECT_FALSE(h.fsm.holds_resources());
}

TEST(XenbusFrontend, StateNamesFollowXenbusH) {
  EXPECT_STREQ(state_name(XenbusStateInitWait), "InitWait");
  EXPECT_STREQ(state_name(XenbusStateClosed), "Closed");
  EXPECT_STREQ(state_name(static_cast<XenbusState>(42)), "(invalid)");
}

}  // namespace
}  // namespace atl::xs
