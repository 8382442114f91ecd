// Initial sequence numbers for lwIP's connections (LWIP_HOOK_TCP_ISN), in
// the shape RFC 6528 gives them: a clock plus a keyed hash of the
// connection's addresses and ports.
//
// Without the hook lwIP starts every connection at 6510 plus its ticks since
// boot: anyone can predict them, and a new incarnation of an appliance (a
// restart, or a new domain given the same address) starts far below the
// numbers its predecessor reached. A server that still holds one of those
// connections in TIME-WAIT takes its SYN for an old duplicate and answers
// with an ACK; the RST that follows is ignored (RFC 1337), and the new
// appliance cannot connect for up to two minutes (bench/fleet/switch_load.py
// found it: a client appliance re-created at the same address failed its
// first connections).
//
// The clock is the monotonic clock in 64 ns steps (as Linux's), the same for
// every domain on a host (pvclock is the host's CLOCK_MONOTONIC; under Xen,
// Xen's system time): it runs 2^20 steps in 67 ms, so a connection opened
// more than that after its predecessor on the same addresses and ports starts
// above everything the predecessor sent, and lwIP's TIME-WAIT reopen (and
// BSD's and Linux's) accepts it. The hash adds 20 bits that only this boot
// knows (a secret drawn at the first connection), so the numbers are not
// predictable from the clock alone; a full 32 bits, as Linux uses, would give
// up the ordering between incarnations, which Linux keeps through TCP
// timestamps and lwIP does not have. The keyed mix is not a cryptographic
// PRF.
#include <stdint.h>
#include <unistd.h>

#include "atoll/time.h"
#include "lwip/ip_addr.h"

namespace {

constexpr unsigned kHashBits = 20;

uint64_t g_key[2];
bool g_keyed;

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The address as one word: IPv4's, or IPv6's four folded (mixed, so that
// different addresses rarely fold alike).
uint64_t addr_bits(const ip_addr_t* a) {
  if (IP_IS_V4(a)) return ip4_addr_get_u32(ip_2_ip4(a));
  const u32_t* w = ip_2_ip6(a)->addr;
  return mix((static_cast<uint64_t>(w[0]) << 32 | w[1]) ^ mix(static_cast<uint64_t>(w[2]) << 32 | w[3]));
}

}  // namespace

extern "C" u32_t atoll_tcp_isn(const ip_addr_t* local_ip, u16_t local_port, const ip_addr_t* remote_ip,
                               u16_t remote_port) {
  if (!g_keyed) {
    getentropy(g_key, sizeof g_key);
    g_keyed = true;
  }
  const uint64_t ports = (static_cast<uint64_t>(local_port) << 16) | remote_port;
  const uint64_t h = mix(mix(mix(g_key[0] ^ addr_bits(local_ip)) ^ addr_bits(remote_ip)) ^ g_key[1] ^ ports);
  const uint32_t clock = static_cast<uint32_t>(atl::time::monotonic_ns() >> 6);
  return clock + static_cast<uint32_t>(h & ((1u << kHashBits) - 1));
}
