// Completes TCP handshakes that passt leaves open. passt 2023.03 (Debian 12's)
// answers a guest's SYN,ACK only if it has something to say: its ACK goes out
// with the first data from the host's client (tcp_conn_from_sock_finish sends
// ACK_IF_NEEDED). Until the client sends a byte, the guest's end stays in
// SYN-RECEIVED: the app never accepts it, a server that speaks first (a
// banner, SMTP's greeting) never speaks, and one that closes idle connections
// never sees this one. So netback sends the guest the ACK passt meant: for a
// SYN,ACK answering a SYN passt sent, sequence and acknowledgement numbers
// from the SYN,ACK and the window passt offered in its SYN.
//
// IPv4 only (passt forwards -p's IPv4 ports); pure functions of frames, unit-
// tested in test_handshake_helper.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace atl::hv {

class HandshakeHelper {
 public:
  // At most this many SYNs are remembered; past it the oldest half is forgotten.
  static constexpr size_t kMaxPending = 4096;

  // A frame on its way to the guest: a SYN (without ACK) is remembered.
  void on_to_guest(std::span<const uint8_t> frame);
  // A frame from the guest: for a SYN,ACK answering a remembered SYN, the
  // Ethernet frame carrying the ACK that completes the handshake.
  std::optional<std::vector<uint8_t>> on_from_guest(std::span<const uint8_t> frame);
  size_t pending() const { return m_syns.size(); }

 private:
  struct Syn {
    uint16_t window = 0;       // as sent: SYN windows are never scaled
    int window_scale = -1;     // the SYN's window scale option, -1 without
    uint64_t order = 0;
  };
  std::unordered_map<uint64_t, Syn> m_syns;  // by (peer address, peer port, guest port)
  uint64_t m_next_order = 0;
};

}  // namespace atl::hv
