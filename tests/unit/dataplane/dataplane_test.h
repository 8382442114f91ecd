// What the dataplane tests share: the guest (or a skip where this machine
// cannot give its addresses), and a frontend's connect and close against
// its backend through the real xenbus handshake.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <string>

#include "atoll/time.h"
#include "guest_env.h"

namespace atl::dataplane {

class DataplaneTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kHandshakeNs = 10'000'000'000ULL;

  // Skips only where this machine cannot give the guest its addresses; a
  // guest that does not boot is a failure.
  void SetUp() override {
    std::string error;
    bool address_taken = false;
    m_env = GuestEnv::try_get(error, &address_taken);
    if (!m_env && address_taken) GTEST_SKIP() << error;
    ASSERT_NE(m_env, nullptr) << error;
  }

  // Starts `Front` on `path` and waits until it and `back` are connected.
  template <typename Front, typename Back>
  void connect_front(const std::string& path, Back& back, std::unique_ptr<Front>& front) {
    auto created = Front::try_create(m_env->client(), path);
    ASSERT_TRUE(created.ok());
    front = std::move(created.value());
    ASSERT_TRUE(front->wait_connected(time::monotonic_ns() + kHandshakeNs).ok());
    ASSERT_TRUE(m_env->run_until([&back] { return back.connected(); }));
  }

  // An orderly close: the backend lets go of the rings too.
  template <typename Front, typename Back>
  void close_front(Front& front, Back& back) {
    EXPECT_TRUE(front.close(time::monotonic_ns() + kHandshakeNs).ok());
    EXPECT_FALSE(back.connected());
  }

  // Closes and reopens the device `cycles` times; the domain's count of
  // backend port numbers after the first reconnect and after the last.
  template <typename Front, typename Back>
  std::pair<size_t, size_t> reconnect_cycles(Front& front, Back& back, unsigned cycles) {
    size_t first = 0;
    for (unsigned cycle = 0; cycle < cycles; ++cycle) {
      close_front(front, back);
      EXPECT_TRUE(front.reopen(time::monotonic_ns() + kHandshakeNs).ok());
      EXPECT_TRUE(m_env->run_until([&back] { return back.connected(); }));
      if (cycle == 0) first = m_env->domain().backend_port_numbers();
    }
    return {first, m_env->domain().backend_port_numbers()};
  }

  GuestEnv* m_env = nullptr;
};

}  // namespace atl::dataplane
