// A file descriptor that carries Ethernet frames: a TAP device or a
// SOCK_SEQPACKET socket to the slirp helper or a switch (one frame per read and
// write), or a stream socket to passt (Framing::kLengthPrefixed). Reads are
// driven by the EventLoop; writes never block (a frame that does not fit is
// dropped and counted, as a NIC would).
//
// A port with Framing::kVirtioNetHdr (a TAP opened with IFF_VNET_HDR) puts a
// struct virtio_net_hdr (VirtioNetHdr) before every frame, both ways:
// that is how checksum offload and TSO metadata (FrameOffload) cross it. A
// plain port carries bare frames; its frames are complete (FrameOffload{}).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <sys/uio.h>

#include "event_loop.h"
#include "offload.h"

namespace atl::hv {

// ABI: linux/virtio_net.h, struct virtio_net_hdr: the legacy 10-byte header a
// TAP puts before each frame with IFF_VNET_HDR (TUNSETVNETHDRSZ 10), in the
// host's byte order. Spelled out here because that header does not compile as
// C++ (a member named `class`).
struct VirtioNetHdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VirtioNetHdr) == 10);
constexpr uint8_t kVirtioNetHdrNeedsCsum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
constexpr uint8_t kVirtioNetHdrDataValid = 2;  // VIRTIO_NET_HDR_F_DATA_VALID
constexpr uint8_t kVirtioGsoNone = 0, kVirtioGsoTcpV4 = 1, kVirtioGsoUdp = 3, kVirtioGsoTcpV6 = 4;
constexpr uint8_t kVirtioGsoEcn = 0x80;        // VIRTIO_NET_HDR_GSO_ECN

// ABI: QEMU's stream netdev protocol, which passt speaks on its socket: each
// frame is preceded by its length as a 32-bit big-endian number.
enum class Framing { kPlain, kVirtioNetHdr, kLengthPrefixed };

// Takes the guest's frames that something in the hypervisor answers itself
// before they reach the port's far end (tcp_splice.h: the TCP port forwards of
// user-mode networking). What it sends the guest goes through
// FramePort::deliver(), as if from the far end.
class FrameInterceptor {
 public:
  virtual ~FrameInterceptor() = default;
  // True when the frame was taken (and is not sent on).
  virtual bool on_guest_frame(std::span<const uint8_t> frame) = 0;
  // The port was paused (set_paused) and is not any more.
  virtual void on_resumed() {}
};

class FramePort {
 public:
  using Receiver = std::function<void(std::span<const uint8_t> frame, const FrameOffload& offload)>;
  // The largest frame read: a 64 KiB GSO packet with its Ethernet header and a VLAN tag.
  static constexpr size_t kMaxFrame = 65535 + 18;

  // Takes ownership of `fd` (made non-blocking) and watches it on `loop`.
  static std::unique_ptr<FramePort> adopt(EventLoop& loop, int fd, std::string what,
                                          Framing framing = Framing::kPlain);
  ~FramePort();
  FramePort(const FramePort&) = delete;
  FramePort& operator=(const FramePort&) = delete;

  void set_receiver(Receiver receiver) { m_receiver = std::move(receiver); }
  // Called once when the other end goes away (EOF or error).
  void set_on_hangup(std::function<void()> hook) { m_on_hangup = std::move(hook); }
  // Whether frames may be sent with a partial checksum or as GSO packets.
  bool carries_offload() const { return m_framing == Framing::kVirtioNetHdr; }
  // Whether a TCP packet larger than the wire's MTU may cross as one frame
  // (with its metadata, or complete when the port carries none): the far
  // end (a TAP's kernel, passt) takes it whole and cuts it, or never needs to.
  bool takes_large_frames() const { return m_framing != Framing::kPlain; }
  // Whether some frames from the guest are taken on this side of the port
  // (set_interceptor): the TCP port forwards, which take a GSO packet whole.
  bool intercepts() const { return m_interceptor != nullptr; }
  // Offers a frame to the interceptor alone; true when it was taken.
  bool offer_to_interceptor(std::span<const uint8_t> frame) {
    return m_interceptor && m_interceptor->on_guest_frame(frame);
  }
  // Sends one frame; a plain port refuses offload metadata (the caller
  // completes checksums and segments first).
  bool send(std::span<const uint8_t> frame, const FrameOffload& offload = {});
  // The same, for a frame gathered from up to kMaxPieces pieces.
  static constexpr size_t kMaxPieces = 24;
  bool send(std::span<const std::span<const uint8_t>> pieces, const FrameOffload& offload = {});
  const std::string& what() const { return m_what; }
  uint64_t dropped() const { return m_dropped; }
  // While paused the port reads nothing: the far end's queue fills and it
  // slows down (passt) or drops (a TAP's kernel), instead of this process
  // dropping what it cannot deliver. Frames read before the pause are held.
  void set_paused(bool paused);
  bool paused() const { return m_paused; }
  // The addressing the network behind the port gives the guest, when it is
  // fixed (passt's): the backend's `ip` key, "ADDRESS NETMASK GATEWAY DNS".
  // The guest then needs no DHCP and answers from its first frame.
  void set_guest_ip(std::string key) { m_guest_ip = std::move(key); }
  const std::string& guest_ip() const { return m_guest_ip; }
  // Whether the far end leaves the guest's SYN,ACKs unanswered (passt:
  // handshake_helper.h), so the backend completes those handshakes.
  void set_leaves_handshakes_open() { m_leaves_handshakes_open = true; }
  bool leaves_handshakes_open() const { return m_leaves_handshakes_open; }
  // Frames from the guest are offered to `interceptor` first; owned by the port.
  void set_interceptor(std::unique_ptr<FrameInterceptor> interceptor) { m_interceptor = std::move(interceptor); }
  // Hands `frame` to the receiver (the backend) as if it came from the far end.
  void deliver(std::span<const uint8_t> frame, const FrameOffload& offload) {
    if (m_receiver) m_receiver(frame, offload);
  }
  // Runs when the port is destroyed (the helper process behind it is stopped).
  void set_on_close(std::function<void()> hook) { m_on_close = std::move(hook); }

 private:
  FramePort(EventLoop& loop, int fd, std::string what, Framing framing)
      : m_loop(loop), m_fd(fd), m_what(std::move(what)), m_framing(framing) {}
  void on_readable(uint32_t events);
  void on_events(uint32_t events);
  void receive(std::span<const uint8_t> message);
  void hang_up();
  // The stream side (kLengthPrefixed): frames are cut out of what was read,
  // and a write the socket took only part of is finished from m_out first.
  void read_stream();
  void cut_frames();
  void update_events();
  bool send_stream(const iovec* iov, int count, size_t want);
  void flush_stream();

  EventLoop& m_loop;
  int m_fd;
  std::string m_what;
  Framing m_framing;
  Receiver m_receiver;
  std::function<void()> m_on_hangup;
  std::function<void()> m_on_close;
  std::string m_guest_ip;
  std::unique_ptr<FrameInterceptor> m_interceptor;
  bool m_leaves_handshakes_open = false;
  // One byte more than the largest message: a read that fills it was truncated.
  std::vector<uint8_t> m_buf = std::vector<uint8_t>(sizeof(VirtioNetHdr) + kMaxFrame + 1);
  uint64_t m_dropped = 0;
  bool m_hung_up = false;
  bool m_paused = false;
  size_t m_in_len = 0;        // bytes of the stream held in m_buf, not yet a whole frame
  std::vector<uint8_t> m_out;  // bytes of frames the stream socket has not taken yet
  size_t m_out_at = 0;
};

VirtioNetHdr to_virtio_net_hdr(const FrameOffload& offload);
// nullopt for what we never asked a TAP for (UDP segmentation and such).
std::optional<FrameOffload> from_virtio_net_hdr(const VirtioNetHdr& hdr);

}  // namespace atl::hv
