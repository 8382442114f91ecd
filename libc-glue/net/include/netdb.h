/* <netdb.h> on Atoll: see atoll_posix_net.h. */
#ifndef ATOLL_POSIX_NETDB_H
#define ATOLL_POSIX_NETDB_H
#include "atoll_posix_net.h"
#endif
