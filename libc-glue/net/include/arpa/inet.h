/* <arpa/inet.h> on Atoll: see atoll_posix_net.h. */
#ifndef ATOLL_POSIX_ARPA_INET_H
#define ATOLL_POSIX_ARPA_INET_H
#include "atoll_posix_net.h"
#endif
