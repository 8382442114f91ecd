// switch=NAME: a learning Ethernet switch that connects the vifs of every
// `atoll run` on this host that names it (without a daemon; the daemon's
// switches are in its loop, daemon/switch_hub.h). The first to join starts it: a
// small process forked from atoll that listens on a SOCK_SEQPACKET socket in
// /tmp/atoll-<uid>/ (mode 0700) and exits a moment after its last port leaves.
// Each port carries one frame per message, like a TAP.
//
// LearningSwitch is the forwarding logic alone (unit-tested): source MACs are
// learned per port and age out; unknown, broadcast and multicast destinations
// flood to every other port.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "event_loop.h"
#include "frame_port.h"

namespace atl::hv {

class LearningSwitch {
 public:
  using Port = int;
  static constexpr uint64_t kAgeNs = 300'000'000'000ULL;  // as 802.1D bridges default
  static constexpr size_t kMaxEntries = 4096;

  // Learns the frame's source and says where it goes (never back to `in`).
  std::vector<Port> route(Port in, std::span<const uint8_t> frame, uint64_t now_ns);
  void add_port(Port p);
  void remove_port(Port p);
  size_t table_size() const { return m_table.size(); }

 private:
  struct Entry {
    Port port;
    uint64_t seen_ns;
  };
  std::vector<Port> m_ports;
  std::map<std::array<uint8_t, 6>, Entry> m_table;
};

// Connects to switch NAME, starting it first when nobody has.
std::unique_ptr<FramePort> join_switch(EventLoop& loop, const std::string& name, std::string& error);
// Whether NAME is a usable switch name (letters, digits, - and _).
bool valid_switch_name(const std::string& name);

}  // namespace atl::hv
