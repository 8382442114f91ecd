/* The POSIX networking names over lwIP's socket API, shared by the standard
 * headers in this directory (<sys/socket.h>, <netinet/in.h>, <netdb.h>,
 * <poll.h>, ...). Types, constants and byte-order helpers are lwIP's; the
 * functions are Atoll's (libc-glue/net/sockets.cpp), which map descriptors
 * through the libOS's table so sockets and files share one numbering. */
#ifndef ATOLL_POSIX_NET_H
#define ATOLL_POSIX_NET_H

#include <fcntl.h> /* newlib's O_NONBLOCK, before lwIP offers its own */
#include <stddef.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/types.h>

#include "lwip/sockets.h"
#include "lwip/netdb.h"
#include "lwip/inet.h"

#ifdef __cplusplus
extern "C" {
#endif

int socket(int domain, int type, int protocol);
int bind(int s, const struct sockaddr* addr, socklen_t len);
int listen(int s, int backlog);
int accept(int s, struct sockaddr* addr, socklen_t* len);
int accept4(int s, struct sockaddr* addr, socklen_t* len, int flags);
int connect(int s, const struct sockaddr* addr, socklen_t len);
ssize_t send(int s, const void* buf, size_t len, int flags);
ssize_t recv(int s, void* buf, size_t len, int flags);
ssize_t sendto(int s, const void* buf, size_t len, int flags, const struct sockaddr* to, socklen_t tolen);
ssize_t recvfrom(int s, void* buf, size_t len, int flags, struct sockaddr* from, socklen_t* fromlen);
ssize_t sendmsg(int s, const struct msghdr* msg, int flags);
ssize_t recvmsg(int s, struct msghdr* msg, int flags);
int shutdown(int s, int how);
int setsockopt(int s, int level, int name, const void* value, socklen_t len);
int getsockopt(int s, int level, int name, void* value, socklen_t* len);
int getsockname(int s, struct sockaddr* addr, socklen_t* len);
int getpeername(int s, struct sockaddr* addr, socklen_t* len);
int ioctl(int fd, unsigned long request, ...);
int poll(struct pollfd* fds, nfds_t nfds, int timeout);
ssize_t readv(int fd, const struct iovec* iov, int iovcnt);
ssize_t writev(int fd, const struct iovec* iov, int iovcnt);
const char* inet_ntop(int af, const void* src, char* dst, socklen_t size);
int inet_pton(int af, const char* src, void* dst);
int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res);
void freeaddrinfo(struct addrinfo* ai);
const char* gai_strerror(int code);
struct hostent* gethostbyname(const char* name);

#ifndef SOCK_NONBLOCK
#define SOCK_NONBLOCK 0x800
#endif
#ifndef SOCK_CLOEXEC
#define SOCK_CLOEXEC 0x80000
#endif
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#ifdef __cplusplus
}
#endif

#endif
