// The TCP port forwards of the default user-mode network (`atoll run -p`,
// `--net user,hostfwd=tcp:...`), served inside the hypervisor instead of by
// libslirp in the atoll-slirp helper.
//
// Why: through the helper every request crossed two processes and two
// TCP/IP stacks, and the default path ran at about half the speed of the
// same appliance over a TAP (bench/RESULTS.md, sessions 5 and 6). Here the
// hypervisor accepts the host's connection itself and speaks TCP to the guest
// on its behalf, as passt does: the host socket's buffers and the kernel's TCP
// do the host side, and the guest side runs over netback's rings, which do not
// lose frames. So this end keeps little state: the bytes the guest has not
// acknowledged (resent on a timeout or three duplicate ACKs), the bytes the
// host socket has not taken yet (which bound the window it offers), and the
// two FINs.
//
// To the guest each connection comes from the gateway, 10.0.2.2, as through
// libslirp, which still answers DHCP, DNS and ARP, carries UDP forwards and
// every connection the guest opens. A frame from the guest is taken here only
// when it belongs to one of these connections (gateway address and the
// pair of ports); the rest go on to libslirp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "byte_queue.h"
#include "event_loop.h"
#include "frame_port.h"
#include "tcp_segment.h"
#include "vif_config.h"

namespace atl::hv {

struct TcpSpliceCounters {
  uint64_t accepted = 0, refused = 0, resets = 0, retransmits = 0;
};

class TcpSplice final : public FrameInterceptor {
 public:
  // Listens on every TCP forward of `forwards` (the UDP ones are not ours);
  // nullptr and `error` set when a port cannot be had. `port` is the uplink
  // the guest's other frames go to; frames for the guest are handed to its
  // receiver.
  // At most `max_flows` connections are open at once; more are reset.
  static std::unique_ptr<TcpSplice> try_create(EventLoop& loop, FramePort& port, const std::vector<HostFwd>& forwards,
                                               size_t max_flows, std::string& error);
  ~TcpSplice() override;

  bool on_guest_frame(std::span<const uint8_t> frame) override;
  void on_resumed() override;
  const TcpSpliceCounters& counters() const { return m_counters; }
  // The buffers' memory of all connections (bounded by kTotalCap and floors).
  size_t buffered_bytes() const { return m_held; }

 private:
  struct Listener {
    int fd = -1;
    uint16_t guest_port = 0;
    uint32_t guest_addr = 0;  // 0: the address the guest is seen using
  };
  // One forwarded connection: the host's socket and the TCP state this end
  // keeps towards the guest. Sequence numbers are the guest side's.
  struct Flow {
    uint32_t key = 0;
    int fd = -1;
    uint16_t guest_port = 0, our_port = 0;
    uint32_t guest_addr = 0;
    bool established = false;  // the guest answered our SYN
    bool dead = false;         // closed; erased at the next flush()
    // Towards the guest: `out` holds the bytes from snd_una on (sent and not
    // acknowledged, then not sent yet).
    uint32_t iss = 0, snd_una = 0, snd_nxt = 0;
    uint32_t snd_wnd = 0;  // the guest's window, scaled
    uint8_t snd_shift = 0, rcv_shift = 0;
    uint16_t mss = 536;
    ByteQueue out;
    bool host_eof = false, fin_sent = false, fin_acked = false;
    unsigned dup_acks = 0;
    // From the guest: `in` holds what the host socket has not taken yet.
    uint32_t rcv_nxt = 0, irs = 0;  // irs: the guest's first sequence number
    ByteQueue in;
    bool guest_fin = false, host_shut = false;
    // The guest reset the connection after its FIN (lwIP does once the app
    // closed and the connection timed out): what it sent, acknowledged by
    // us, still goes to the host, which then sees a FIN, not a reset.
    bool guest_gone = false;
    bool ack_due = false;
    size_t advertised = 0;  // the window the last segment offered
    uint32_t rcv_edge = 0;  // rcv_nxt + that window: what the guest may send
    size_t promise = 0;     // rcv_edge - rcv_nxt, as counted in m_promised
    // A deadline for the SYN or the oldest unacknowledged byte (0: none).
    uint64_t deadline = 0;
    uint64_t rto_ns = 0;
    unsigned retries = 0;
    bool probe = false;  // the next pump sends a byte into a zero window
    // Host socket: the epoll events asked for, and whether it is watched.
    uint32_t events = 0;
    bool watched = false;
    bool dirty = false;
    bool starved = false;  // held back by kTotalCap, on m_starved
    size_t footprint = 0;  // in's and out's memory as last counted in m_held
  };

  // The network libslirp gives the guest (atoll_slirp.cpp): connections
  // come from its gateway, with the gateway's MAC as libslirp makes it.
  static constexpr uint32_t kGateway = 0x0a000202;      // 10.0.2.2
  static constexpr uint32_t kDefaultGuest = 0x0a00020f;  // 10.0.2.15, its first DHCP lease
  static constexpr MacAddress kGatewayMac{0x52, 0x55, 0x0a, 0x00, 0x02, 0x02};
  // Our ports, as the guest sees them: the gateway's ephemeral range.
  static constexpr uint16_t kPortBase = 32768, kPortCount = 28232;
  static constexpr uint16_t kWireMss = 1460;
  // Bytes held each way per connection: what the guest may have in flight
  // to us (the window we offer; scaled by 2^kRcvShift), and what is read
  // from the host ahead of the guest's window.
  static constexpr size_t kInCap = 512 << 10, kOutCap = 512 << 10;
  // The buffers' memory of all connections together, with the windows
  // offered to the guest and not yet filled. Past it no host socket is read
  // (the clients' kernels hold the rest and their senders wait) and the
  // guest is offered no more window, until the total is back under three
  // quarters of it; then the connections held back are offered their
  // windows again. Each way of a connection may always hold its floor, so
  // that one whose progress would free memory is never held back waiting
  // for it (an echo reads one way only as fast as the other drains). 16,384
  // connections that nobody reads hold kTotalCap plus 512 MiB of floors at
  // the most, instead of 16 GiB.
  static constexpr size_t kTotalCap = 64 << 20;
  static constexpr size_t kInFloor = 16 << 10, kOutFloor = 16 << 10;
  static constexpr uint8_t kRcvShift = 4;
  // Given up after about four minutes without an acknowledgement (RFC 1122
  // 4.2.3.5 asks for at least 100 s): a guest whose app stops reading drops
  // what it cannot queue (lwIP's refused data) and is alive all the same.
  // SYNs: about a minute, as libslirp; a busy app accepts late.
  static constexpr uint64_t kRtoMinNs = 200'000'000, kRtoMaxNs = 30'000'000'000;
  static constexpr uint64_t kSynRtoNs = 250'000'000;
  static constexpr unsigned kMaxRetries = 15, kMaxSynRetries = 12;
  static constexpr uint64_t kTickNs = 50'000'000;

  TcpSplice(EventLoop& loop, FramePort& port, size_t max_flows) : m_loop(loop), m_port(port), m_max_flows(max_flows) {}
  bool listen_on(const HostFwd& fwd, std::string& error);
  void on_acceptable(Listener& l);
  bool start_flow(int fd, const Listener& l);
  void pause_accepting();
  void warn_limit(const char* why, const char* what);
  static constexpr uint64_t kWarnEveryNs = 10'000'000'000;
  static uint32_t key(uint16_t guest_port, uint16_t our_port) { return uint32_t(guest_port) << 16 | our_port; }
  uint16_t free_port(uint16_t guest_port);

  // The guest side (tcp_splice.cpp).
  void on_segment(Flow& f, const TcpSegment& s);
  void on_syn_ack(Flow& f, const TcpSegment& s);
  void on_ack(Flow& f, const TcpSegment& s);
  void take_payload(Flow& f, const TcpSegment& s);
  void send_segment(Flow& f, uint8_t flags, uint32_t seq, std::span<const uint8_t> payload);
  void send_syn(Flow& f);
  void reset_unknown(const TcpSegment& s);
  // Sends what the guest's window allows, then the FIN once the host is done.
  void pump(Flow& f);
  uint16_t window_field(Flow& f);
  // The window to offer the guest now: the connection's own room, within
  // what kTotalCap leaves (never less than its floor, nor than was offered
  // already); and what may be read from the host, only its floor while all
  // connections together are past kTotalCap.
  size_t window_room(const Flow& f) const;
  size_t room_out(const Flow& f) const;
  // Counts f's buffers (account) or promised window (count_promise) again
  // after they changed; once the total is back under the cap's three
  // quarters, the connections held back go on.
  void account(Flow& f);
  void count_promise(Flow& f);
  void hold_back(Flow& f);

  // The host side and timers (tcp_splice_host.cpp).
  void on_host_events(uint32_t k, uint32_t events);
  void read_host(Flow& f);
  void write_host(Flow& f);
  void update_host_events(Flow& f);
  // Work done once per loop pass for every flow touched (mark_dirty):
  // writes to the host, ACKs and window updates to the guest.
  void mark_dirty(Flow& f);
  void flush();
  void on_tick();
  void arm_tick();
  // ATOLL_TRACE_SPLICE=1: every five seconds, a line on stderr with the
  // state of all connections and the first three in detail (a stall's
  // post-mortem: which side waits for what).
  void trace();
  // Ends the flow: with an RST to the guest and/or to the host client.
  // `why`: an abnormal end, said under ATOLL_TRACE_SPLICE.
  void close_flow(Flow& f, bool reset_guest, bool reset_host, const char* why);
  void maybe_finish(Flow& f);

  EventLoop& m_loop;
  FramePort& m_port;
  size_t m_max_flows;
  std::vector<std::unique_ptr<Listener>> m_listeners;
  std::unordered_map<uint32_t, std::unique_ptr<Flow>> m_flows;
  std::vector<uint32_t> m_dirty;
  size_t m_held = 0;                // the footprints of all connections
  size_t m_promised = 0;            // their windows offered, not yet filled
  std::vector<uint32_t> m_starved;  // held back by kTotalCap
  std::optional<EventLoop::TimerId> m_flush_timer, m_tick_timer, m_accept_timer, m_trace_timer;
  MacAddress m_guest_mac{};
  bool m_guest_mac_known = false;
  uint32_t m_guest_addr = 0;  // learned from the guest's frames
  uint16_t m_next_port = 0;
  uint16_t m_ip_id = 0;
  uint64_t m_last_warning = 0;
  std::vector<uint8_t> m_frame;
  // Where a flow whose queue has no room at hand reads the host's bytes, so
  // that a small answer costs no large allocation (kReadChunk, made once).
  std::unique_ptr<uint8_t[]> m_scratch;
  TcpSpliceCounters m_counters;
};

}  // namespace atl::hv
