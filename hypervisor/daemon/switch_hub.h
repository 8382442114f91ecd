// The daemon's switches: `switch=NAME` under the daemon joins a learning
// switch (LearningSwitch, switch.h) that runs in the daemon's own event loop
// rather than in a process of its own (as `atoll run` starts one). A switch
// process would be a fork of the daemon, holding a mapping of every guest's
// memory, and one more process to own and reap; here a switch is a table and
// a socket pair per port. A switch exists while a port is on it.
//
// The vif's uplink is one end of a SOCK_SEQPACKET pair, so netback sees the
// same FramePort as with a switch process; the switch reads the other end.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "event_loop.h"
#include "frame_port.h"
#include "switch.h"

namespace atl::hv::fleet {

class SwitchHub {
 public:
  explicit SwitchHub(EventLoop& loop) : m_loop(loop) {}
  SwitchHub(const SwitchHub&) = delete;
  SwitchHub& operator=(const SwitchHub&) = delete;

  // A new port on switch `name` (made when it is the first); the uplink for
  // a vif. Closing it takes the port off the switch.
  std::unique_ptr<FramePort> join(const std::string& name, std::string& error);
  // Ports on switch `name` now (0 when it does not exist).
  size_t ports(const std::string& name) const;
  // Takes off the ports whose vif end has closed (the daemon calls it after
  // every turn of its loop: a port is never destroyed inside its own handler).
  void collect();

 private:
  struct Segment {
    LearningSwitch table;
    std::map<int, std::unique_ptr<FramePort>> ports;  // by the switch end's fd
  };
  void forward(Segment& s, int in, std::span<const uint8_t> frame);

  EventLoop& m_loop;
  std::map<std::string, Segment> m_segments;
  std::vector<std::pair<std::string, int>> m_left;  // (switch, port) to take off
};

}  // namespace atl::hv::fleet
