/* <net/if.h> on Atoll: see atoll_posix_net.h. */
#ifndef ATOLL_POSIX_NET_IF_H
#define ATOLL_POSIX_NET_IF_H
#include "atoll_posix_net.h"
#endif
