#include "switch_hub.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "clock.h"

namespace atl::hv::fleet {

namespace {
constexpr int kSocketBuffer = 4 << 20;  // as a switch process's ports
}

std::unique_ptr<FramePort> SwitchHub::join(const std::string& name, std::string& error) {
  if (!valid_switch_name(name)) {
    error = "switch name `" + name + "` may hold only letters, digits, - and _";
    return nullptr;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    error = std::string("cannot make a port on switch ") + name + ": " + strerror(errno);
    return nullptr;
  }
  for (int fd : sv) {
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBuffer, sizeof kSocketBuffer);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBuffer, sizeof kSocketBuffer);
  }
  auto outer = FramePort::adopt(m_loop, sv[1], "switch " + name + " port");
  if (!outer) {
    close(sv[0]);
    error = "cannot watch a port of switch " + name;
    return nullptr;
  }
  Segment& s = m_segments[name];
  int key = sv[1];
  Segment* seg = &s;  // std::map nodes do not move
  outer->set_receiver([this, seg, key](std::span<const uint8_t> frame, const FrameOffload&) { forward(*seg, key, frame); });
  outer->set_on_hangup([this, name, key] { m_left.emplace_back(name, key); });
  s.table.add_port(key);
  s.ports.emplace(key, std::move(outer));
  auto inner = FramePort::adopt(m_loop, sv[0], "switch " + name);
  if (!inner) error = "cannot watch a port of switch " + name;
  return inner;
}

size_t SwitchHub::ports(const std::string& name) const {
  auto it = m_segments.find(name);
  return it == m_segments.end() ? 0 : it->second.ports.size();
}

void SwitchHub::forward(Segment& s, int in, std::span<const uint8_t> frame) {
  for (int out : s.table.route(in, frame, monotonic_ns())) {
    auto it = s.ports.find(out);
    if (it != s.ports.end()) it->second->send(frame);
  }
}

void SwitchHub::collect() {
  for (const auto& [name, fd] : m_left) {
    auto it = m_segments.find(name);
    if (it == m_segments.end()) continue;
    it->second.table.remove_port(fd);
    it->second.ports.erase(fd);
    if (it->second.ports.empty()) m_segments.erase(it);
  }
  m_left.clear();
}

}  // namespace atl::hv::fleet
