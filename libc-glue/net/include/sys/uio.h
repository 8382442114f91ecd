/* <sys/uio.h> on Atoll: see atoll_posix_net.h. */
#ifndef ATOLL_POSIX_SYS_UIO_H
#define ATOLL_POSIX_SYS_UIO_H
#include "atoll_posix_net.h"
#endif
