/* <sys/poll.h> on Atoll: see atoll_posix_net.h. */
#ifndef ATOLL_POSIX_SYS_POLL_H
#define ATOLL_POSIX_SYS_POLL_H
#include "atoll_posix_net.h"
#endif
