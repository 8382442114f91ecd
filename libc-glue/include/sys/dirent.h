/* struct dirent and DIR for newlib's <dirent.h>, which includes this file:
 * newlib's own <sys/dirent.h> for this target is an #error stub. The
 * directory calls are in libc-glue/fs/dir_syscalls.cpp. */
#ifndef _SYS_DIRENT_H
#define _SYS_DIRENT_H

#include <sys/types.h>

#define DT_UNKNOWN 0
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_BLK 6
#define DT_REG 8
#define DT_LNK 10
#define DT_SOCK 12
#define DT_WHT 14

#define IFTODT(mode) (((mode) & 0170000) >> 12)
#define DTTOIF(type) ((type) << 12)

#define _DIRENT_HAVE_D_TYPE 1
#define _DIRENT_HAVE_D_OFF 1
#define _DIRENT_HAVE_D_RECLEN 1

struct dirent {
  ino_t d_ino;
  off_t d_off;             /* telldir() of the next entry */
  unsigned short d_reclen; /* sizeof(struct dirent) */
  unsigned char d_type;    /* DT_* */
  char d_name[256];        /* NUL-terminated, at most 255 bytes */
};

/* Opaque: the library's handle for an open directory stream. */
typedef struct __atoll_dir DIR;

#endif /* _SYS_DIRENT_H */
