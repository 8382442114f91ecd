// The daemon's switches (hypervisor/daemon/switch_hub.h) over a real event
// loop: ports of one switch hear each other (flooding, then learning), ports
// of another switch do not, and a port whose vif end closed leaves it.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "switch_hub.h"

using namespace atl::hv;
using namespace atl::hv::fleet;

namespace {

using Frame = std::vector<uint8_t>;

Frame frame(uint8_t dst_last, uint8_t src_last, uint8_t tag) {
  Frame f(60, tag);
  std::array<uint8_t, 6> dst{0x00, 0x16, 0x3e, 0, 0, dst_last}, src{0x00, 0x16, 0x3e, 0, 0, src_last};
  if (dst_last == 0xff) dst.fill(0xff);
  memcpy(f.data(), dst.data(), 6);
  memcpy(f.data() + 6, src.data(), 6);
  f[12] = 0x08, f[13] = 0x00;
  return f;
}

struct Vif {
  std::unique_ptr<FramePort> port;
  std::vector<Frame> got;
};

class SwitchHubTest : public ::testing::Test {
 protected:
  Vif& join(const std::string& name) {
    auto v = std::make_unique<Vif>();
    std::string error;
    v->port = hub.join(name, error);
    EXPECT_TRUE(v->port) << error;
    Vif* raw = v.get();
    v->port->set_receiver([raw](std::span<const uint8_t> f, const FrameOffload&) { raw->got.emplace_back(f.begin(), f.end()); });
    vifs.push_back(std::move(v));
    return *vifs.back();
  }
  // Turns the loop a bounded number of times (a lost frame fails the test,
  // it does not hang it), then takes off the ports that left.
  void settle() {
    for (int i = 0; i < 20; ++i) loop.run_once(10);
    hub.collect();
  }

  EventLoop loop;
  SwitchHub hub{loop};
  std::vector<std::unique_ptr<Vif>> vifs;
};

}  // namespace

TEST_F(SwitchHubTest, FloodsThenForwardsToTheLearnedPortOnly) {
  Vif &a = join("lan"), &b = join("lan"), &c = join("lan"), &other = join("dmz");
  EXPECT_EQ(hub.ports("lan"), 3u);
  EXPECT_EQ(hub.ports("dmz"), 1u);
  a.port->send(frame(0xff, 0x0a, 1));  // broadcast from A
  settle();
  EXPECT_EQ(b.got.size(), 1u);
  EXPECT_EQ(c.got.size(), 1u);
  EXPECT_TRUE(a.got.empty()) << "never back to the port it came from";
  EXPECT_TRUE(other.got.empty()) << "another switch hears nothing";
  EXPECT_EQ(b.got[0], frame(0xff, 0x0a, 1));
  b.port->send(frame(0x0a, 0x0b, 2));  // to A, whose port is learned
  settle();
  ASSERT_EQ(a.got.size(), 1u);
  EXPECT_EQ(a.got[0], frame(0x0a, 0x0b, 2));
  EXPECT_EQ(c.got.size(), 1u) << "a learned destination is not flooded";
}

TEST_F(SwitchHubTest, APortLeavesWhenItsVifEndCloses) {
  Vif &a = join("lan"), &b = join("lan");
  (void)a;
  b.port.reset();
  settle();
  EXPECT_EQ(hub.ports("lan"), 1u);
  vifs[0]->port.reset();
  settle();
  EXPECT_EQ(hub.ports("lan"), 0u) << "the switch is gone with its last port";
}

TEST_F(SwitchHubTest, ABadNameIsRefused) {
  std::string error;
  EXPECT_FALSE(hub.join("no spaces", error));
  EXPECT_NE(error.find("letters, digits"), std::string::npos) << error;
}
