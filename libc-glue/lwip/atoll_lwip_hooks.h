// lwIP hooks (LWIP_HOOK_FILENAME in lwipopts.h), included by lwIP's C sources
// after its own headers.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct tcp_pcb;
// Every segment that reaches a connection passes here first: once the
// connection is established over a netfront that takes TSO, its send MSS is
// raised so lwIP builds segments of ~64 KiB, which the backend (or the host's
// kernel) cuts at the real MSS (netif_netfront.cpp). Returns ERR_OK.
signed char atoll_tcp_inpacket(struct tcp_pcb* pcb);

// Initial sequence numbers: a 64 ns clock plus a keyed hash of the
// connection's addresses and ports (tcp_isn.cpp says why).
struct ip_addr;
unsigned int atoll_tcp_isn(const struct ip_addr* local_ip, unsigned short local_port, const struct ip_addr* remote_ip,
                           unsigned short remote_port);

#ifdef __cplusplus
}
#endif

#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) atoll_tcp_inpacket(pcb)
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
  atoll_tcp_isn(local_ip, local_port, remote_ip, remote_port)
