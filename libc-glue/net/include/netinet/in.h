/* <netinet/in.h> on Atoll: see atoll_posix_net.h. */
#ifndef ATOLL_POSIX_NETINET_IN_H
#define ATOLL_POSIX_NETINET_IN_H
#include "atoll_posix_net.h"
#endif
