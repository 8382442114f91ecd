/* newlib's <sys/stat.h>, plus lstat(), which newlib declares only for a few
 * targets (SPU, RTEMS, Cygwin). libc-glue/fs/fs_syscalls.cpp implements it. */
#ifndef _ATOLL_SYS_STAT_H
#define _ATOLL_SYS_STAT_H

#include_next <sys/stat.h>

#if defined(__NEWLIB__) && !defined(__rtems__) && !defined(__CYGWIN__) && !defined(__SPU__)
#ifdef __cplusplus
extern "C" {
#endif
int lstat(const char *__restrict __path, struct stat *__restrict __buf);
#ifdef __cplusplus
}
#endif
#endif

#endif /* _ATOLL_SYS_STAT_H */
