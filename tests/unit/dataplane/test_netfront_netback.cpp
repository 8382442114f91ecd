// netfront against netback in one process (guest_env.h): the real frontend's
// transmit() and poll_rx() and the real backend's drain_tx() and rx delivery,
// on rings whose indices start 32 short of 2^32 and cross it, over the real
// grant table, event channels and xenstore handshake. The far side of the vif
// is a socketpair standing in for the uplink: what the guest sends must come
// out of it byte for byte, and what is written into it must reach the
// guest's receive callback byte for byte, with each side's counters agreeing.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "frame_builder.h"
#include "frame_port.h"
#include "dataplane_test.h"
#include "netback.h"
#include "netfront.h"

namespace atl::dataplane {
namespace {

// meson.build builds the frontends with their rings starting short of the
// wrap of their 32-bit indices; without it these tests would never cross it.
static_assert(net::NetifTxFrontRing::Shared::kStart >= 0xFFFFFF00u);

using nbtest::Bytes;
using nbtest::FrameSpec;

// The MACs frame_builder.h writes: the guest's (the vif's) and its peer's.
constexpr std::array<uint8_t, 6> kGuestMac = {0x00, 0x16, 0x3e, 0x01, 0x02, 0x03};

Bytes udp_frame(size_t payload, uint8_t salt) {
  FrameSpec s;
  s.proto = nbtest::kUdp;
  return nbtest::build_frame(s, nbtest::payload_pattern(payload, salt));
}

Bytes tcp_frame(size_t payload, uint8_t salt, int ip_version = 4) {
  FrameSpec s;
  s.ip_version = ip_version;
  return nbtest::build_frame(s, nbtest::payload_pattern(payload, salt));
}

// A frame from the outside for the guest: the peer's MAC to the guest's.
Bytes to_guest(Bytes frame) {
  std::array<uint8_t, 6> peer;
  std::copy(frame.begin(), frame.begin() + 6, peer.begin());
  std::copy(kGuestMac.begin(), kGuestMac.end(), frame.begin());
  std::copy(peer.begin(), peer.end(), frame.begin() + 6);
  return frame;
}

// One vif: netback on an uplink socketpair, netfront connected to it.
class NetPath : public DataplaneTest {
 protected:
  void connect(hv::Framing framing) {
    static uint32_t next_devid = 0;
    m_devid = next_devid++;
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    m_far = fds[1];
    // Room for every frame a test leaves queued: the port drops what does
    // not fit, as a NIC would, and these tests count every frame.
    for (int fd : fds) {
      int bytes = 4 << 20;
      setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes);
      setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
    }
    m_framing = framing;
    m_uplink = hv::FramePort::adopt(m_env->loop(), fds[0], "test uplink", framing);
    ASSERT_TRUE(m_uplink);
    hv::VifConfig vif;
    vif.mac = kGuestMac;
    vif.mac_given = true;
    m_back = hv::NetBack::try_create(m_env->domain(), m_env->store(), m_env->loop(), vif, m_devid, *m_uplink, error);
    ASSERT_TRUE(m_back) << error;
    ASSERT_NO_FATAL_FAILURE(connect_front("device/vif/" + std::to_string(m_devid), *m_back, m_front));
  }

  void TearDown() override {
    if (m_front) close_front(*m_front, *m_back);
    m_front.reset();
    m_back.reset();
    m_uplink.reset();
    if (m_far >= 0) close(m_far);
  }

  Result<void> send(const Bytes& frame, bool defer = false) {
    std::span<const uint8_t> piece(frame);
    return m_front->transmit(std::span<const std::span<const uint8_t>>(&piece, 1), defer);
  }

  // The next frame the uplink carried out, without its virtio-net header
  // (which goes to `hdr`); nullopt when there is none. The guest goes idle
  // first: netfront's kicks reach the backend when its thread next waits or
  // the vCPU idles (evtchn::send_deferred), not inside transmit().
  std::optional<Bytes> take_sent(hv::VirtioNetHdr* hdr = nullptr) {
    m_env->idle(0);
    Bytes buf(70000);
    ssize_t n = recv(m_far, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) return std::nullopt;
    size_t skip = m_framing == hv::Framing::kVirtioNetHdr ? sizeof(hv::VirtioNetHdr) : 0;
    if (skip && hdr) memcpy(hdr, buf.data(), sizeof *hdr);
    return Bytes(buf.begin() + skip, buf.begin() + n);
  }

  void inject(const Bytes& frame, const hv::VirtioNetHdr& hdr = {}) {
    Bytes msg;
    if (m_framing == hv::Framing::kVirtioNetHdr)
      msg.insert(msg.end(), reinterpret_cast<const uint8_t*>(&hdr), reinterpret_cast<const uint8_t*>(&hdr) + sizeof hdr);
    msg.insert(msg.end(), frame.begin(), frame.end());
    ASSERT_EQ(::send(m_far, msg.data(), msg.size(), 0), static_cast<ssize_t>(msg.size()));
  }

  // Runs the guest's rx path until `count` packets arrived (or 10 s passed).
  std::vector<Bytes> receive(size_t count, std::vector<net::RxPacket>* meta = nullptr) {
    std::vector<Bytes> got;
    m_env->run_until([&] {
      m_front->poll_rx([&](const net::RxPacket& p) {
        Bytes b;
        for (unsigned i = 0; i < p.count; ++i) b.insert(b.end(), p.pieces[i].begin(), p.pieces[i].end());
        EXPECT_EQ(b.size(), p.size);
        got.push_back(std::move(b));
        if (meta) meta->push_back(p);
      });
      return got.size() >= count;
    });
    return got;
  }

  uint32_t m_devid = 0;
  int m_far = -1;
  hv::Framing m_framing = hv::Framing::kPlain;
  std::unique_ptr<hv::FramePort> m_uplink;
  std::unique_ptr<hv::NetBack> m_back;
  std::unique_ptr<net::NetFront> m_front;
  std::string error;
};

TEST_F(NetPath, TransmitSingleSlotFramesAcrossTheIndexWrap) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  // 600 frames: more than twice round the 256-slot ring, from 32 slots short of 2^32.
  uint64_t bytes = 0;
  for (unsigned i = 0; i < 600; ++i) {
    Bytes f = udp_frame(18 + (i * 37) % 1455, static_cast<uint8_t>(i));
    ASSERT_TRUE(send(f).ok()) << "frame " << i;
    bytes += f.size();
    auto out = take_sent();
    ASSERT_TRUE(out) << "frame " << i << " never reached the uplink";
    ASSERT_EQ(*out, f) << "frame " << i << " changed on the way";
  }
  EXPECT_FALSE(take_sent());
  EXPECT_EQ(m_back->counters().tx_packets, 600u);
  EXPECT_EQ(m_back->counters().tx_bytes, bytes);
  EXPECT_EQ(m_back->counters().tx_errors, 0u);
  EXPECT_EQ(m_front->counters().tx_packets, 600u);
  EXPECT_EQ(m_front->counters().tx_bytes, bytes);
}

TEST_F(NetPath, TransmitFillsTheRingWhenNotificationsAreDeferred) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  // Deferred kicks reach the backend only when the guest waits: the ring's
  // pages (64 without TSO, per queue) run out, transmit() waits, and the
  // backend drains them all in one go. Nothing is lost or reordered.
  uint64_t sent_before = m_env->events_sent();
  std::vector<Bytes> frames;
  for (unsigned i = 0; i < 150; ++i) {
    frames.push_back(udp_frame(100 + i, static_cast<uint8_t>(i)));
    ASSERT_TRUE(send(frames.back(), true).ok());
  }
  m_front->flush_tx();
  m_env->idle(0);
  for (unsigned i = 0; i < frames.size(); ++i) {
    auto out = take_sent();
    ASSERT_TRUE(out) << "frame " << i;
    ASSERT_EQ(*out, frames[i]) << "frame " << i;
  }
  EXPECT_EQ(m_back->counters().tx_packets, 150u);
  EXPECT_EQ(m_uplink->dropped(), 0u);
  // One notification per time the pages ran out, not one per frame.
  EXPECT_LE(m_env->events_sent() - sent_before, 4u);
}

TEST_F(NetPath, TransmitTcpChecksumOffloadIsCompletedByTheBackend) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  // netfront leaves TCP checksums blank (NETTXF_csum_blank, the field
  // seeded with the pseudo-header sum); a plain uplink carries no offload,
  // so netback completes them.
  FrameSpec spec;
  for (size_t payload : {0u, 1u, 100u, 1460u}) {
    Bytes f = nbtest::build_frame(spec, nbtest::payload_pattern(payload, 3));
    ASSERT_TRUE(send(f).ok());
    auto out = take_sent();
    ASSERT_TRUE(out);
    ASSERT_EQ(out->size(), f.size());
    EXPECT_TRUE(nbtest::l4_checksum_verifies(spec, *out)) << payload;
    size_t field = nbtest::l4_of(spec) + 16;
    Bytes without_sum = *out;
    without_sum[field] = without_sum[field + 1] = 0;
    EXPECT_EQ(without_sum, f) << "only the checksum may change";
  }
}

TEST_F(NetPath, TransmitGsoSegmentGoesOutWholeWithItsMetadata) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kVirtioNetHdr));
  ASSERT_TRUE(m_front->tso(false));
  // 60000 bytes of payload: 15 pages and a GSO extra slot, read in place by
  // the backend (send_in_place) and handed to the uplink as one frame.
  FrameSpec spec;
  unsigned segments = 0;
  for (size_t payload : {60000u, 4000u, 1461u * 3}) {
    Bytes f = nbtest::build_frame(spec, nbtest::payload_pattern(payload, static_cast<uint8_t>(payload)));
    ASSERT_TRUE(send(f).ok()) << payload;
    ++segments;
    hv::VirtioNetHdr hdr{};
    auto out = take_sent(&hdr);
    ASSERT_TRUE(out) << payload;
    ASSERT_EQ(out->size(), f.size());
    EXPECT_EQ(hdr.gso_type & ~hv::kVirtioGsoEcn, hv::kVirtioGsoTcpV4);
    EXPECT_EQ(hdr.gso_size, 1500 - 40);
    EXPECT_EQ(hdr.flags & hv::kVirtioNetHdrNeedsCsum, hv::kVirtioNetHdrNeedsCsum);
    EXPECT_EQ(hdr.csum_start, nbtest::l4_of(spec));
    EXPECT_EQ(hdr.csum_offset, 16);
    EXPECT_EQ(hdr.hdr_len, nbtest::headers_of(spec));
    // Everything but the seeded checksum field is the guest's bytes.
    size_t field = nbtest::l4_of(spec) + 16;
    EXPECT_EQ(nbtest::get16(*out, field), nbtest::pseudo_sum(spec, f));
    Bytes a = *out, b = f;
    a[field] = a[field + 1] = b[field] = b[field + 1] = 0;
    EXPECT_EQ(a, b) << payload;
  }
  EXPECT_EQ(m_back->counters().tx_gso, segments);
  EXPECT_EQ(m_front->counters().tx_gso, segments);
}

TEST_F(NetPath, TransmitRefusesAnOversizedFrameWithoutTso) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  // A plain uplink: the backend offers no TSO, so nothing over the MTU goes.
  EXPECT_FALSE(m_front->tso(false));
  auto r = send(tcp_frame(3000, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kInval);
  EXPECT_FALSE(take_sent());
  EXPECT_EQ(m_back->counters().tx_packets, 0u);
}

TEST_F(NetPath, TransmitFromAnotherMacIsDroppedAsSpoofed) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  Bytes f = udp_frame(64, 9);
  f[11] ^= 0xff;
  ASSERT_TRUE(send(f).ok());
  EXPECT_FALSE(take_sent());
  EXPECT_EQ(m_back->counters().tx_spoofed, 1u);
  EXPECT_EQ(m_back->counters().tx_packets, 0u);
  // The ring goes on: the next honest frame passes.
  Bytes g = udp_frame(64, 10);
  ASSERT_TRUE(send(g).ok());
  EXPECT_EQ(take_sent(), g);
}

TEST_F(NetPath, ReceiveFramesAcrossTheIndexWrapByteForByte) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  // 700 frames in bursts of 50: the 256-slot rx ring wraps its indices
  // (from 32 short of 2^32) more than twice, and its 128 posted buffers
  // are reposted after every packet.
  std::vector<Bytes> sent, got;
  uint64_t bytes = 0;
  for (unsigned burst = 0; burst < 14; ++burst) {
    for (unsigned i = 0; i < 50; ++i) {
      sent.push_back(to_guest(udp_frame(18 + (sent.size() * 53) % 1455, static_cast<uint8_t>(sent.size()))));
      bytes += sent.back().size();
      ASSERT_NO_FATAL_FAILURE(inject(sent.back()));
    }
    auto more = receive(50);
    got.insert(got.end(), more.begin(), more.end());
    ASSERT_EQ(got.size(), sent.size());
  }
  for (size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(got[i], sent[i]) << "frame " << i;
  EXPECT_EQ(m_back->counters().rx_packets, sent.size());
  EXPECT_EQ(m_back->counters().rx_bytes, bytes);
  EXPECT_EQ(m_back->counters().rx_dropped, 0u);
  EXPECT_EQ(m_front->counters().rx_packets, sent.size());
  EXPECT_EQ(m_front->counters().rx_errors, 0u);
}

TEST_F(NetPath, ReceiveMoreThanThePostedBuffersHoldWaitsInTheBacklog) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  // 200 frames while the guest takes none: 128 fill the posted buffers (a
  // full ring of responses), the rest wait in netback's backlog and arrive
  // as the guest reposts. None is dropped.
  std::vector<Bytes> sent;
  for (unsigned i = 0; i < 200; ++i) {
    sent.push_back(to_guest(udp_frame(200, static_cast<uint8_t>(i))));
    ASSERT_NO_FATAL_FAILURE(inject(sent.back()));
  }
  for (int i = 0; i < 20; ++i) m_env->loop().run_once(1);
  EXPECT_EQ(m_back->counters().rx_packets, net::NetFront::kRxBuffers);
  auto got = receive(sent.size());
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) ASSERT_EQ(got[i], sent[i]) << "frame " << i;
  EXPECT_EQ(m_back->counters().rx_dropped, 0u);
}

TEST_F(NetPath, ReceiveGsoPacketOverSeveralSlotsWithItsExtra) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kVirtioNetHdr));
  // A 30000-byte TCP segment with a partial checksum from the host's side:
  // netback hands it to the guest as one packet over 8 slots, its GSO extra
  // and NETRXF_csum_blank, since netfront asked for all three.
  FrameSpec spec;
  Bytes f = to_guest(nbtest::build_frame(spec, nbtest::payload_pattern(30000, 5)));
  hv::VirtioNetHdr hdr{};
  hdr.flags = hv::kVirtioNetHdrNeedsCsum;
  hdr.gso_type = hv::kVirtioGsoTcpV4;
  hdr.gso_size = 1448;
  hdr.hdr_len = static_cast<uint16_t>(nbtest::headers_of(spec));
  hdr.csum_start = static_cast<uint16_t>(nbtest::l4_of(spec));
  hdr.csum_offset = 16;
  nbtest::put16(f, nbtest::l4_of(spec) + 16, nbtest::pseudo_sum(spec, f));
  ASSERT_NO_FATAL_FAILURE(inject(f, hdr));
  std::vector<net::RxPacket> meta;
  auto got = receive(1, &meta);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], f);
  EXPECT_EQ(meta[0].gso_size, 1448);
  EXPECT_GE(meta[0].count, 8u);
  EXPECT_TRUE(meta[0].checksum_blank);
  EXPECT_EQ(m_back->counters().rx_gso, 1u);
  EXPECT_EQ(m_front->counters().rx_gso, 1u);
}

TEST_F(NetPath, ReopenAfterCloseCarriesTrafficAgain) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  Bytes f = udp_frame(500, 1);
  ASSERT_TRUE(send(f).ok());
  EXPECT_EQ(take_sent(), f);
  close_front(*m_front, *m_back);
  EXPECT_EQ(send(f).error(), Errno::kNoDev);
  ASSERT_TRUE(m_front->reopen(time::monotonic_ns() + kHandshakeNs).ok());
  ASSERT_TRUE(m_env->run_until([this] { return m_back->connected(); }));
  Bytes g = udp_frame(700, 2);
  ASSERT_TRUE(send(g).ok());
  EXPECT_EQ(take_sent(), g);
  ASSERT_NO_FATAL_FAILURE(inject(to_guest(udp_frame(300, 3))));
  EXPECT_EQ(receive(1).size(), 1u);
}

// Netback bound a new backend port at every connect and kept the old ones'
// callbacks for the domain's life: a guest reconnecting in a loop grew the
// hypervisor by about a hundred bytes a cycle, without end
// (hostile-reconnect-loop-alone found it). Each disconnect gives them back.
TEST_F(NetPath, ReconnectsGiveTheirBackendPortsBack) {
  ASSERT_NO_FATAL_FAILURE(connect(hv::Framing::kPlain));
  auto [first, last] = reconnect_cycles(*m_front, *m_back, 20);
  EXPECT_EQ(last, first) << "reconnects reuse the ports they gave back";
  ASSERT_TRUE(m_back->connected());
  Bytes f = udp_frame(500, 4);
  ASSERT_TRUE(send(f).ok());
  EXPECT_EQ(take_sent(), f) << "the port bound last carries the frontend's notifications";
  ASSERT_NO_FATAL_FAILURE(inject(to_guest(udp_frame(300, 5))));
  EXPECT_EQ(receive(1).size(), 1u) << "and the backend's";
}

}  // namespace
}  // namespace atl::dataplane
