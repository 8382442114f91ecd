// lwIP configuration for Atoll guests: the full stack (IPv4 + IPv6, TCP, UDP,
// DHCP, DNS) with the sequential and BSD socket APIs, on cooperative threads.
// Options left out keep lwIP's defaults (src/include/lwip/opt.h).
#pragma once

// ---- Operating system ------------------------------------------------------
#define NO_SYS 0
// Protection against upcalls (a driver's event handler touching lwIP state);
// threads never preempt each other.
#define SYS_LIGHTWEIGHT_PROT 1
// Application threads call into the stack under the core lock instead of
// messaging the tcpip thread for every operation.
#define LWIP_TCPIP_CORE_LOCKING 1
// Transmit notifications are batched: netfront queues frames on its ring while
// the stack holds the core lock and tells the backend once, when it lets go
// (atoll_net_flush_tx, netif_netfront.cpp), instead of one hypercall a frame.
#ifdef __cplusplus
extern "C"
#endif
    void atoll_net_flush_tx(void);
#define LOCK_TCPIP_CORE() sys_mutex_lock(&lock_tcpip_core)
#define UNLOCK_TCPIP_CORE()            \
  do {                                 \
    sys_mutex_unlock(&lock_tcpip_core); \
    atoll_net_flush_tx();              \
  } while (0)
// netfront's rx thread hands frames to the stack directly under the core lock.
#define LWIP_TCPIP_CORE_LOCKING_INPUT 1
#define TCPIP_THREAD_NAME "tcpip"
#define TCPIP_THREAD_STACKSIZE (64 * 1024)
#define TCPIP_MBOX_SIZE 128
#define DEFAULT_THREAD_STACKSIZE (64 * 1024)
#define DEFAULT_RAW_RECVMBOX_SIZE 64
#define DEFAULT_UDP_RECVMBOX_SIZE 64
// A whole receive window of full segments (TCP_WND / TCP_MSS): while the
// mailbox is full lwIP drops arriving data and answers with a duplicate ACK,
// and a peer that fills the window in one burst (passt) then resends it all.
// Mailboxes grow as they fill (sys_arch.cpp), so an idle socket pays little.
#define DEFAULT_TCP_RECVMBOX_SIZE 192
// Every connection the listen backlog admits (at most 255, lwIP's counter is
// 8 bits) must fit the accept queue: a full one resets the connection.
#define DEFAULT_ACCEPTMBOX_SIZE 256

// ---- Memory ----------------------------------------------------------------
#define MEM_ALIGNMENT 8
// Heap and pools come from newlib's malloc, on demand: an idle appliance pays
// for no connections, a busy one is limited by its memory, not by pool sizes.
// (Only threads allocate; upcall handlers never call into lwIP.)
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_SIZE (512 * 1024)
#define MEMP_NUM_PBUF 128
#define PBUF_POOL_SIZE 256
#define MEMP_NUM_RAW_PCB 8
#define MEMP_NUM_UDP_PCB 16
#define MEMP_NUM_TCP_PCB 4096
#define MEMP_NUM_TCP_PCB_LISTEN 16
#define MEMP_NUM_NETBUF 64
// Sockets at once: lwIP keeps a static table of them (24 bytes each, 384 KiB
// here), so this is the ceiling on connections open together; 10,000 at once
// are tested (tests/apps/conn_open_test.py). With the descriptor offset it
// must fit FD_SETSIZE, which the guest cross file (scripts/mk-cross-file.sh)
// sets to 16384.
#define MEMP_NUM_NETCONN (16384 - LWIP_SOCKET_OFFSET)
#define MEMP_NUM_TCPIP_MSG_INPKT 128
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)

// ---- Protocols -------------------------------------------------------------
#define LWIP_IPV4 1
#define LWIP_IPV6 1
// Required on 64-bit: struct ip6_reass_helper does not fit the 8-byte
// fragment header otherwise (an lwIP assertion at run time).
#define IPV6_FRAG_COPYHEADER 1
// IPv6 addresses by SLAAC and DNS servers from router advertisements (RDNSS);
// no DHCPv6 client (slirp and most LANs do not need it).
#define LWIP_IPV6_DHCP6 0
#define LWIP_IPV6_AUTOCONFIG 1
#define LWIP_ND6_RDNSS_MAX_DNS_SERVERS 1
#define LWIP_ICMP 1
#define LWIP_RAW 1
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
// No ARP probe of the offered address: it costs a second of every boot, and
// the DHCP servers we meet (slirp, a LAN's) do not hand out addresses in use.
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 1
#define LWIP_DNS 1
#define DNS_MAX_SERVERS 2
#define LWIP_ARP 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 1

// ---- TCP -------------------------------------------------------------------
#define TCP_MSS 1460
// Windows past 64 KiB (RFC 7323 scaling): with TSO a single segment is ~64 KiB.
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 3
#define TCP_WND (256 * 1024)
#define TCP_SND_BUF (256 * 1024)
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
// A socket polls writable with this much send buffer free (lwIP's counter of
// it is 16 bits wide).
#define TCP_SNDLOWAT (16 * TCP_MSS)
// lwIP's sanity check: at least one segment per queued send.
#define MEMP_NUM_TCP_SEG TCP_SND_QUEUELEN
#define LWIP_TCP_KEEPALIVE 1
#define TCP_LISTEN_BACKLOG 1
// TIME-WAIT pcbs at most (our lwIP patch, lwip-time-wait-reopen.patch): past
// it the older half is freed. Without a bound, short connections at 10,000 a
// second keep over a million pcbs for TIME-WAIT's 2 * TCP_MSL, filling the
// heap, and every SYN walks the whole list.
#define TCP_TIME_WAIT_MAX 2048
#define TCP_DEFAULT_LISTEN_BACKLOG 255

// ---- Network interfaces ----------------------------------------------------
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_NETIF_HOSTNAME 1
#define LWIP_NETIF_API 1
// netfront's netif leaves TCP checksums to the backend and skips checking
// those the backend vouches for (netif_netfront.cpp).
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
// TSO: netif_netfront.cpp raises an established connection's send MSS.
#define LWIP_HOOK_FILENAME "atoll_lwip_hooks.h"
// 127.0.0.1 / ::1 through the loopback netif, and packets a netif sends to its
// own address.
#define LWIP_HAVE_LOOPIF 1
#define LWIP_NETIF_LOOPBACK 1
#define LWIP_LOOPBACK_MAX_PBUFS 0

// ---- Sequential and socket APIs --------------------------------------------
#define LWIP_NETCONN 1
#define LWIP_SOCKET 1
// lwIP's names only (lwip_socket, ...): the POSIX names are Atoll's
// (libc-glue/net/sockets.cpp), which put sockets in the libOS's descriptor
// table beside files and the console.
#define LWIP_COMPAT_SOCKETS 0
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
#define LWIP_SOCKET_OFFSET 16
#define LWIP_SOCKET_SELECT 0  // select() is built on lwip_poll
#define LWIP_SOCKET_POLL 1
#define LWIP_SO_SNDTIMEO 1
#define LWIP_SO_RCVTIMEO 1
#define LWIP_SO_RCVBUF 1
#define LWIP_SO_LINGER 1
#define SO_REUSE 1
#define LWIP_FIONREAD_LINUXMODE 1

// ---- Diagnostics -----------------------------------------------------------
// FIXME: turn statistics on when netfront exposes counters through them.
#define LWIP_STATS 0
#define LWIP_NOASSERT_ON_ERROR 0
