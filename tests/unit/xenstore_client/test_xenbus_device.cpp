// XenbusDevice end to end: the client, the state machine and a driver against the
// fake daemon, with a fake backend that answers the frontend's state writes the
// way Linux's netback/blkback do, on the keys xl lays out.
#include <gtest/gtest.h>

#include "atoll/xenbus_device.h"
#include "fake_xenstored.h"

namespace atl::xs {
namespace {

using testing::FakeXenstored;

const std::string kDevice = "device/vif/0";
const std::string kBackend = "/local/domain/0/backend/vif/1/0";

class TestDriver : public XenbusDriver {
 public:
  Result<void> on_backend_ready(XenbusDevice& device) override {
    ++ready;
    if (close_during_setup) device.close();
    return transact(device.client(), [&](Transaction& t) -> Result<void> {
      for (auto [key, value] : {std::pair{"tx-ring-ref", "8"}, {"rx-ring-ref", "9"}, {"event-channel", "5"}})
        if (auto w = t.write(device.key(key), value); !w.ok()) return w;
      return {};
    });
  }
  Result<void> on_connected(XenbusDevice& device) override {
    ++connected;
    auto feature = device.client().read(device.backend_key("feature-rx-copy"));
    if (!feature.ok()) return feature.error();
    saw_feature = *feature == "1";
    return {};
  }
  void on_closing(XenbusDevice&) override { ++closing; }
  void on_closed(XenbusDevice&) override { ++closed; }

  int ready = 0, connected = 0, closing = 0, closed = 0;
  bool saw_feature = false;
  bool close_during_setup = false;
};

class XenbusDeviceTest : public ::testing::Test {
 protected:
  XenbusDeviceTest() {
    xsd.store_write(kDevice + "/backend", kBackend);
    xsd.store_write(kDevice + "/backend-id", "0");
    xsd.store_write(kDevice + "/state", "1");
    make_backend();
    xsd.on_client_write = [this](const std::string& path, const std::string& value) {
      if (path != xsd.home() + "/" + kDevice + "/state") return;
      written_states.push_back(std::stoi(value));
      backend_follows(written_states.back());
    };
  }

  void make_backend() {
    xsd.store_write(kBackend + "/frontend", xsd.home() + "/" + kDevice);
    xsd.store_write(kBackend + "/frontend-id", "1");
    xsd.store_write(kBackend + "/feature-rx-copy", "1");
    xsd.store_write(kBackend + "/state", "2");  // InitWait: features written, waiting for us
  }

  int backend_state() { return std::stoi(xsd.store_read(kBackend + "/state").value_or("0")); }
  std::optional<std::string> frontend_key(const std::string& key) { return xsd.store_read(kDevice + "/" + key); }

  // The backend's half (Linux netback's frontend_changed, blkback's if blk_style).
  void backend_follows(int frontend) {
    if (!xsd.store_read(kBackend + "/state")) return;  // removed
    int b = backend_state();
    auto set = [&](XenbusState s) { xsd.store_write(kBackend + "/state", std::to_string(s)); };
    switch (frontend) {
      case XenbusStateInitialising: if (b == XenbusStateClosed) set(XenbusStateInitWait); break;
      case XenbusStateInitialised: if (blk_style && b == XenbusStateInitWait) set(XenbusStateConnected); break;
      case XenbusStateConnected:
        // The backend maps what the frontend published; without it, it cannot connect.
        if (b == XenbusStateInitWait && frontend_key("tx-ring-ref")) set(XenbusStateConnected);
        break;
      case XenbusStateClosing: if (b != XenbusStateClosing && b != XenbusStateClosed) set(XenbusStateClosing); break;
      case XenbusStateClosed: if (b != XenbusStateClosed) set(XenbusStateClosed); break;
      default: break;
    }
  }

  std::unique_ptr<XenbusDevice> make_device(Handshake handshake = Handshake::kConnectDirectly) {
    auto device = XenbusDevice::try_create(client, kDevice, driver, handshake);
    EXPECT_TRUE(device.ok());
    if (!device.ok()) return nullptr;
    return std::move(*device);
  }

  // What the xenstore thread does on the guest, until nothing more happens.
  void settle() {
    for (int i = 0; i < 100; ++i) {
      (void)client.pump();
      if (client.dispatch_watch_events() == 0) return;
    }
    FAIL() << "the handshake does not settle";
  }

  std::unique_ptr<XenbusDevice> connected_device() {
    auto device = make_device();
    EXPECT_TRUE(device->start().ok());
    settle();
    EXPECT_TRUE(device->connected());
    return device;
  }

  FakeXenstored xsd{1};
  Client client{xsd};
  TestDriver driver;
  bool blk_style = false;
  std::vector<int> written_states;  // every value the frontend gave its state key
};

TEST_F(XenbusDeviceTest, ReadsBackendKeysAndConnects) {
  auto device = make_device();
  ASSERT_TRUE(device);
  EXPECT_EQ(device->backend_path(), kBackend);
  EXPECT_EQ(device->backend_id(), DomId(0));
  EXPECT_EQ(device->key("state"), kDevice + "/state");
  ASSERT_TRUE(device->start().ok());
  settle();
  EXPECT_EQ(frontend_key("state"), "4");
  EXPECT_EQ(written_states, (std::vector<int>{XenbusStateInitialising, XenbusStateConnected}));
  EXPECT_EQ(backend_state(), XenbusStateConnected);
  EXPECT_EQ(frontend_key("tx-ring-ref"), "8");
  EXPECT_EQ(frontend_key("event-channel"), "5");
  EXPECT_EQ(driver.ready, 1);
  EXPECT_EQ(driver.connected, 1);
  EXPECT_TRUE(driver.saw_feature);
  EXPECT_TRUE(device->connected());
  EXPECT_EQ(device->backend_state(), XenbusStateConnected);
  // Initialising and Connected were each written in a transaction that checks the device exists.
  EXPECT_GE(xsd.count(XS_TRANSACTION_START), 3u);
}

TEST_F(XenbusDeviceTest, ConnectsThroughInitialisedWithABlockStyleBackend) {
  blk_style = true;
  auto device = make_device(Handshake::kViaInitialised);
  ASSERT_TRUE(device->start().ok());
  settle();
  EXPECT_EQ(frontend_key("state"), "4");
  EXPECT_EQ(backend_state(), XenbusStateConnected);
  EXPECT_EQ(driver.connected, 1);
}

TEST_F(XenbusDeviceTest, BackendClosingThenReconnecting) {
  auto device = connected_device();
  xsd.store_write(kBackend + "/state", "5");
  settle();
  EXPECT_EQ(driver.closing, 1);
  EXPECT_EQ(driver.closed, 1);
  EXPECT_EQ(driver.ready, 2);
  EXPECT_EQ(driver.connected, 2);
  EXPECT_EQ(frontend_key("state"), "4");
  EXPECT_EQ(backend_state(), XenbusStateConnected);
}

TEST_F(XenbusDeviceTest, BackendRemovedThenRecreated) {
  auto device = connected_device();
  xsd.store_rm(kBackend);
  settle();
  EXPECT_EQ(driver.closing, 1);
  EXPECT_EQ(driver.closed, 1);
  EXPECT_FALSE(device->connected());
  EXPECT_FALSE(device->backend_state().has_value());
  EXPECT_EQ(frontend_key("state"), "1");  // Initialising: waiting for a backend
  make_backend();
  settle();
  EXPECT_EQ(driver.ready, 2);
  EXPECT_TRUE(device->connected());
  EXPECT_EQ(frontend_key("state"), "4");
}

TEST_F(XenbusDeviceTest, DeviceRemovedByTheToolstackIsNotRecreated) {
  auto device = connected_device();
  xsd.store_rm(kDevice);
  xsd.store_rm(kBackend);
  settle();
  EXPECT_EQ(driver.closed, 1);
  EXPECT_FALSE(frontend_key("state").has_value());
  EXPECT_EQ(device->error(), Errno::kNoEnt);
}

TEST_F(XenbusDeviceTest, DriverCloseAndReopen) {
  auto device = connected_device();
  device->close();
  settle();
  EXPECT_EQ(frontend_key("state"), "6");
  EXPECT_EQ(backend_state(), XenbusStateClosed);
  EXPECT_EQ(driver.closing, 1);
  EXPECT_EQ(driver.closed, 1);
  EXPECT_EQ(driver.ready, 1);
  device->reopen();
  settle();
  EXPECT_EQ(frontend_key("state"), "4");
  EXPECT_EQ(driver.ready, 2);
  EXPECT_TRUE(device->connected());
}

TEST_F(XenbusDeviceTest, CloseDuringAStepTakesEffectAfterIt) {
  blk_style = true;
  driver.close_during_setup = true;
  auto device = make_device(Handshake::kViaInitialised);
  ASSERT_TRUE(device->start().ok());
  settle();
  EXPECT_EQ(driver.ready, 1);
  EXPECT_EQ(driver.connected, 0);
  EXPECT_EQ(driver.closed, 1);
  // The close waited for the setup step to finish; the rings, once offered, are
  // freed only after the backend let go.
  EXPECT_EQ(written_states, (std::vector<int>{XenbusStateInitialising, XenbusStateInitialised, XenbusStateClosing,
                                              XenbusStateClosed}));
  EXPECT_EQ(frontend_key("state"), "6");
  EXPECT_EQ(backend_state(), XenbusStateClosed);
}

TEST_F(XenbusDeviceTest, MissingOrMalformedBackendKeysAreRefused) {
  EXPECT_EQ(XenbusDevice::try_create(client, "device/vbd/9", driver, Handshake::kViaInitialised).error(),
            Errno::kNoEnt);
  xsd.store_write("device/vbd/9/backend-id", "0");  // backend-id alone is not enough
  EXPECT_EQ(XenbusDevice::try_create(client, "device/vbd/9", driver, Handshake::kViaInitialised).error(),
            Errno::kNoEnt);
  xsd.store_write(kDevice + "/backend-id", "zero");
  EXPECT_EQ(XenbusDevice::try_create(client, kDevice, driver, Handshake::kViaInitialised).error(), Errno::kInval);
  xsd.store_write(kDevice + "/backend-id", "32752");  // DOMID_SELF is no backend
  EXPECT_EQ(XenbusDevice::try_create(client, kDevice, driver, Handshake::kViaInitialised).error(), Errno::kInval);
}

TEST(XenbusState, ParsesOnlyDefinedStates) {
  EXPECT_EQ(parse_xenbus_state("4"), XenbusStateConnected);
  EXPECT_EQ(parse_xenbus_state(std::string("6\0", 2)), XenbusStateClosed);
  EXPECT_FALSE(parse_xenbus_state("9").has_value());
  EXPECT_FALSE(parse_xenbus_state("").has_value());
  EXPECT_FALSE(parse_xenbus_state("Connected").has_value());
}

}  // namespace
}  // namespace atl::xs
