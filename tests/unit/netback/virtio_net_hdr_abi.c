/* Pins the virtio_net_hdr layout and constants frame_port.h spells out (that
 * header does not compile as C++) against the installed linux/virtio_net.h: it
 * compiles only if they agree, and then exits 0. */
#include <linux/virtio_net.h>
#include <stddef.h>

_Static_assert(sizeof(struct virtio_net_hdr) == 10, "size");
_Static_assert(offsetof(struct virtio_net_hdr, flags) == 0, "flags");
_Static_assert(offsetof(struct virtio_net_hdr, gso_type) == 1, "gso_type");
_Static_assert(offsetof(struct virtio_net_hdr, hdr_len) == 2, "hdr_len");
_Static_assert(offsetof(struct virtio_net_hdr, gso_size) == 4, "gso_size");
_Static_assert(offsetof(struct virtio_net_hdr, csum_start) == 6, "csum_start");
_Static_assert(offsetof(struct virtio_net_hdr, csum_offset) == 8, "csum_offset");
_Static_assert(VIRTIO_NET_HDR_F_NEEDS_CSUM == 1 && VIRTIO_NET_HDR_F_DATA_VALID == 2, "flags");
_Static_assert(VIRTIO_NET_HDR_GSO_NONE == 0 && VIRTIO_NET_HDR_GSO_TCPV4 == 1 && VIRTIO_NET_HDR_GSO_UDP == 3 &&
                   VIRTIO_NET_HDR_GSO_TCPV6 == 4 && VIRTIO_NET_HDR_GSO_ECN == 0x80,
               "gso types");

int main(void) { return 0; }
