// A file descriptor that carries one Ethernet frame per read and write: a TAP
// device, or a SOCK_SEQPACKET socket to the slirp helper or a switch. Reads are
// driven by the EventLoop; writes never block (a frame that does not fit is
// dropped and counted, as a NIC would).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "event_loop.h"

namespace atl::hv {

class FramePort {
 public:
  using Receiver = std::function<void(std::span<const uint8_t> frame)>;

  // Takes ownership of `fd` (made non-blocking) and watches it on `loop`.
  static std::unique_ptr<FramePort> adopt(EventLoop& loop, int fd, std::string what);
  ~FramePort();
  FramePort(const FramePort&) = delete;
  FramePort& operator=(const FramePort&) = delete;

  void set_receiver(Receiver receiver) { m_receiver = std::move(receiver); }
  // Called once when the other end goes away (EOF or error).
  void set_on_hangup(std::function<void()> hook) { m_on_hangup = std::move(hook); }
  bool send(std::span<const uint8_t> frame);
  const std::string& what() const { return m_what; }
  uint64_t dropped() const { return m_dropped; }

 private:
  FramePort(EventLoop& loop, int fd, std::string what) : m_loop(loop), m_fd(fd), m_what(std::move(what)) {}
  void on_readable(uint32_t events);

  EventLoop& m_loop;
  int m_fd;
  std::string m_what;
  Receiver m_receiver;
  std::function<void()> m_on_hangup;
  std::vector<uint8_t> m_buf = std::vector<uint8_t>(65536);
  uint64_t m_dropped = 0;
  bool m_hung_up = false;
};

}  // namespace atl::hv
