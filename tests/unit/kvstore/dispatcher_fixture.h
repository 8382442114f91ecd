// A dispatcher over a fresh key space, run at a fixed clock: the fixture of
// the command, type and eviction tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "commands.h"

namespace kv::test {

inline constexpr int64_t kNow = 1'700'000'000'000;  // ms

class DispatcherTest : public ::testing::Test {
 protected:
  std::string run(std::vector<std::string> argv, int64_t now = kNow) {
    std::string out;
    dispatcher.execute(client, argv, out, now);
    return out;
  }

  Config config;
  ServerStats stats;
  Keyspace keys;
  Dispatcher dispatcher{keys, config, stats};
  ClientState client;
};

}  // namespace kv::test
