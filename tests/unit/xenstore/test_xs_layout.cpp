// The layout written for a new domain and for a split device (as xl writes
// them), what the guest may do with it, and its removal.
#include <gtest/gtest.h>

#include "event_loop.h"
#include "xenstored.h"
#include "xs_test_support.h"

namespace atl::hv::xs::test {
namespace {

class XsLayout : public ::testing::Test {
 protected:
  void SetUp() override { xs.create_domain_layout(7, "web", 131072); }
  Core& core() { return const_cast<Core&>(xs.core()); }
  std::string perms(const std::string& path) {
    auto p = xs.get_perms(path);
    return p.ok() ? format_perms(p.value()) : "E";
  }
  EventLoop loop;
  Xenstored xs{loop};
};

TEST_F(XsLayout, DomainZeroExistsFromTheStart) {
  EXPECT_EQ(xs.read("/local/domain/0/name").value(), "Domain-0");
  EXPECT_EQ(xs.read("/local/domain/0/domid").value(), "0");
}

TEST_F(XsLayout, NodesAndValues) {
  EXPECT_EQ(xs.read("/local/domain/7/name").value(), "web");
  EXPECT_EQ(xs.read("/local/domain/7/domid").value(), "7");
  EXPECT_EQ(xs.read("/local/domain/7/memory/target").value(), "131072");
  EXPECT_EQ(xs.read("/local/domain/7/memory/static-max").value(), "131072");
  EXPECT_EQ(xs.read("/local/domain/7/control/shutdown").value(), "");
  for (const char* p : {"/local/domain/7/device", "/local/domain/7/data", "/local/domain/7/control/feature-poweroff",
                        "/local/domain/7/control/feature-reboot", "/local/domain/7/device/suspend/event-channel"})
    EXPECT_TRUE(xs.read(p).ok()) << p;
  std::string vm = xs.read("/local/domain/7/vm").value();
  ASSERT_EQ(vm.rfind("/vm/", 0), 0u);
  EXPECT_EQ(vm.size(), 4u + 36u) << "a UUID";
  EXPECT_EQ(xs.read(vm + "/name").value(), "web");
  EXPECT_EQ(xs.read(vm + "/uuid").value(), vm.substr(4));
  EXPECT_TRUE(core().store().consistent());
}

TEST_F(XsLayout, PermissionsAsXl) {
  std::string ro("n0\0r7\0", 6), guest("n7\0", 3);
  EXPECT_EQ(perms("/local/domain/7"), ro);
  EXPECT_EQ(perms("/local/domain/7/name"), ro);
  EXPECT_EQ(perms("/local/domain/7/memory/target"), ro);
  EXPECT_EQ(perms("/local/domain/7/device"), ro);
  EXPECT_EQ(perms("/local/domain/7/control"), ro);
  EXPECT_EQ(perms("/local/domain/7/control/shutdown"), guest);
  EXPECT_EQ(perms("/local/domain/7/data"), guest);
}

TEST_F(XsLayout, WhatTheGuestMayDo) {
  Client g(core(), DomId(7));
  EXPECT_EQ(g.read("name"), "web");
  EXPECT_EQ(g.read("memory/target"), "131072");
  EXPECT_EQ(g.write("name", "evil"), "E:EACCES");
  EXPECT_EQ(g.write("memory/target", "99999999"), "E:EACCES");
  EXPECT_EQ(g.write("newkey", "x"), "E:EACCES") << "the home itself is domain 0's";
  EXPECT_EQ(g.write("data/status", "ready"), kOK);
  EXPECT_EQ(g.write("control/feature-poweroff", "1"), kOK);
  EXPECT_EQ(g.write("control/shutdown", ""), kOK) << "the guest clears a request it handled";
  EXPECT_EQ(g.read("/local/domain/0/name"), "E:EACCES");
  Client other(core(), DomId(8));
  EXPECT_EQ(other.read("/local/domain/7/name"), "E:EACCES");
}

TEST_F(XsLayout, HostShutdownRequestReachesAGuestWatch) {
  Client g(core(), DomId(7));
  EXPECT_EQ(g.watch("control/shutdown", "sd"), kOK);
  EXPECT_EQ(g.events(), std::vector<std::string>{"control/shutdown|sd"});
  ASSERT_TRUE(xs.write("/local/domain/7/control/shutdown", "poweroff").ok());
  EXPECT_EQ(g.events(), std::vector<std::string>{"control/shutdown|sd"});
  EXPECT_EQ(g.read("control/shutdown"), "poweroff");
}

TEST_F(XsLayout, DeviceDirectories) {
  xs.create_device_layout(7, "vif", 0, {{"mac", "00:16:3e:00:00:07"}}, {{"handle", "0"}});
  std::string fe = "/local/domain/7/device/vif/0";
  std::string be = "/local/domain/0/backend/vif/7/0";
  EXPECT_EQ(xs.read(fe + "/backend").value(), be);
  EXPECT_EQ(xs.read(fe + "/backend-id").value(), "0");
  EXPECT_EQ(xs.read(fe + "/state").value(), "1");
  EXPECT_EQ(xs.read(fe + "/handle").value(), "0");
  EXPECT_EQ(xs.read(be + "/frontend").value(), fe);
  EXPECT_EQ(xs.read(be + "/frontend-id").value(), "7");
  EXPECT_EQ(xs.read(be + "/online").value(), "1");
  EXPECT_EQ(xs.read(be + "/state").value(), "1");
  EXPECT_EQ(xs.read(be + "/mac").value(), "00:16:3e:00:00:07");
  EXPECT_EQ(perms(fe), std::string("n7\0r0\0", 6));
  EXPECT_EQ(perms(be), std::string("n0\0r7\0", 6));
  Client g(core(), DomId(7));
  EXPECT_EQ(g.write("device/vif/0/state", "3"), kOK) << "the frontend writes its state";
  EXPECT_EQ(g.read(be + "/state"), "1") << "and reads the backend's";
  EXPECT_EQ(g.write(be + "/state", "4"), "E:EACCES");
  xs.destroy_device_layout(7, "vif", 0);
  EXPECT_FALSE(xs.read(fe).ok());
  EXPECT_FALSE(xs.read(be).ok());
}

TEST_F(XsLayout, DestroyRemovesEverything) {
  xs.create_device_layout(7, "vbd", 51712);
  std::string vm = xs.read("/local/domain/7/vm").value();
  size_t nodes_with = core().store().size();
  xs.destroy_domain_layout(7);
  EXPECT_FALSE(xs.read("/local/domain/7").ok());
  EXPECT_FALSE(xs.read(vm).ok());
  EXPECT_FALSE(xs.read("/local/domain/0/backend/vbd/7").ok());
  EXPECT_LT(core().store().size(), nodes_with);
  EXPECT_EQ(core().store().owned_by(DomId(7)), 0u);
  EXPECT_TRUE(core().store().consistent());
}

TEST_F(XsLayout, LayoutAppearsAtOnceToWatchers) {
  std::vector<std::string> seen;
  xs.watch("/local/domain/9", [&](const std::string& p) { seen.push_back(p); });
  for (int i = 0; i < 5; ++i) loop.run_once(0);
  seen.clear();
  xs.create_domain_layout(9, "db", 1024);
  for (int i = 0; i < 5; ++i) loop.run_once(0);
  ASSERT_FALSE(seen.empty());
  for (const std::string& p : seen) EXPECT_EQ(p.rfind("/local/domain/9", 0), 0u) << p;
}

}  // namespace
}  // namespace atl::hv::xs::test
