// The BSD socket calls under their POSIX names. A socket is an lwIP socket
// wrapped in an atl::fd::File, so it gets an ordinary descriptor, and read,
// write, close, fcntl and fstat reach it through newlib's hooks like any file.
// lwIP reports errors in errno; File methods return them as -errno.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include <memory>

#include "atoll/fd.h"
#include "atoll/net.h"
#include "atoll_posix_net.h"

namespace {

long lwip_result(long r) { return r < 0 ? -errno : r; }

class SocketFile final : public atl::fd::File {
 public:
  explicit SocketFile(int s) : m_s(s) {}
  ssize_t read(void* buf, size_t len) override { return lwip_result(lwip_read(m_s, buf, len)); }
  ssize_t write(const void* buf, size_t len) override { return lwip_result(lwip_write(m_s, buf, len)); }
  int fstat(struct stat* st) override {
    *st = {};
    st->st_mode = S_IFSOCK | 0777;
    return 0;
  }
  int close() override { return static_cast<int>(lwip_result(lwip_close(m_s))); }
  int set_status_flags(int flags) override {
    int on = (flags & O_NONBLOCK) != 0;
    if (lwip_ioctl(m_s, FIONBIO, &on) < 0) return -errno;
    m_flags = flags;
    return 0;
  }
  int lwip_socket() const override { return m_s; }

 private:
  int m_s;
};

long fail(int e) {
  errno = e;
  return -1;
}

// The lwIP socket behind `fd`, or -1 with errno set (EBADF, ENOTSOCK).
int sock(int fd) {
  atl::fd::File* f = atl::fd::get(fd);
  if (!f) return static_cast<int>(fail(EBADF));
  int s = f->lwip_socket();
  return s >= 0 ? s : static_cast<int>(fail(ENOTSOCK));
}

// Gives a new lwIP socket a descriptor; closes it when the table is full.
int adopt(int s, int type_flags) {
  if (s < 0) return -1;
  int fd = atl::fd::install(std::make_unique<SocketFile>(s));
  if (fd < 0) {
    lwip_close(s);
    return static_cast<int>(fail(-fd));
  }
  if (type_flags & SOCK_NONBLOCK) atl::fd::get(fd)->set_status_flags(O_RDWR | O_NONBLOCK);
  return fd;
}

// A guest has no signals, so MSG_NOSIGNAL asks for nothing; lwIP's sendmsg
// would refuse the flag it does not implement (EOPNOTSUPP).
int send_flags(int flags) { return flags & ~MSG_NOSIGNAL; }

}  // namespace

extern "C" {

// Marks the image as one that wants a network: atoll gives it a `user` vif by
// default (hypervisor/main.cpp looks for this function).
__attribute__((noinline, used)) void atoll_wants_network() { __asm__ volatile(""); }

int socket(int domain, int type, int protocol) {
  atoll_wants_network();
  if (auto r = atl::net::ensure_up(); !r.ok()) return static_cast<int>(fail(ENETDOWN));
  return adopt(lwip_socket(domain, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), protocol), type);
}

int accept4(int fd, struct sockaddr* addr, socklen_t* len, int flags) {
  int s = sock(fd);
  return s < 0 ? -1 : adopt(lwip_accept(s, addr, len), flags);
}

int accept(int fd, struct sockaddr* addr, socklen_t* len) { return accept4(fd, addr, len, 0); }

#define SOCKET_CALL(expr) \
  int s = sock(fd);       \
  if (s < 0) return -1;   \
  return expr

int bind(int fd, const struct sockaddr* addr, socklen_t len) { SOCKET_CALL(lwip_bind(s, addr, len)); }
int listen(int fd, int backlog) { SOCKET_CALL(lwip_listen(s, backlog)); }
int connect(int fd, const struct sockaddr* addr, socklen_t len) {
  int s = sock(fd);
  if (s < 0) return -1;
  int r = lwip_connect(s, addr, len);
  // lwIP reports a reset answering our SYN as ECONNRESET; POSIX says refused.
  if (r < 0 && errno == ECONNRESET) errno = ECONNREFUSED;
  return r;
}
ssize_t send(int fd, const void* buf, size_t len, int flags) {
  SOCKET_CALL(lwip_send(s, buf, len, send_flags(flags)));
}
ssize_t recv(int fd, void* buf, size_t len, int flags) { SOCKET_CALL(lwip_recv(s, buf, len, flags)); }
ssize_t sendto(int fd, const void* buf, size_t len, int flags, const struct sockaddr* to, socklen_t tolen) {
  SOCKET_CALL(lwip_sendto(s, buf, len, send_flags(flags), to, tolen));
}
ssize_t recvfrom(int fd, void* buf, size_t len, int flags, struct sockaddr* from, socklen_t* fromlen) {
  SOCKET_CALL(lwip_recvfrom(s, buf, len, flags, from, fromlen));
}
ssize_t sendmsg(int fd, const struct msghdr* msg, int flags) {
  SOCKET_CALL(lwip_sendmsg(s, msg, send_flags(flags)));
}
ssize_t recvmsg(int fd, struct msghdr* msg, int flags) { SOCKET_CALL(lwip_recvmsg(s, msg, flags)); }
int shutdown(int fd, int how) { SOCKET_CALL(lwip_shutdown(s, how)); }
int setsockopt(int fd, int level, int name, const void* value, socklen_t len) {
  SOCKET_CALL(lwip_setsockopt(s, level, name, value, len));
}
int getsockopt(int fd, int level, int name, void* value, socklen_t* len) {
  SOCKET_CALL(lwip_getsockopt(s, level, name, value, len));
}
int getsockname(int fd, struct sockaddr* addr, socklen_t* len) { SOCKET_CALL(lwip_getsockname(s, addr, len)); }
int getpeername(int fd, struct sockaddr* addr, socklen_t* len) { SOCKET_CALL(lwip_getpeername(s, addr, len)); }

ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  if (atl::fd::File* f = atl::fd::get(fd); f && f->lwip_socket() < 0) {
    ssize_t total = 0;
    for (int i = 0; i < iovcnt; ++i) {
      ssize_t n = read(fd, iov[i].iov_base, iov[i].iov_len);
      if (n < 0) return total ? total : -1;
      total += n;
      if (static_cast<size_t>(n) < iov[i].iov_len) break;
    }
    return total;
  }
  SOCKET_CALL(lwip_readv(s, iov, iovcnt));
}

ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  if (atl::fd::File* f = atl::fd::get(fd); f && f->lwip_socket() < 0) {
    ssize_t total = 0;
    for (int i = 0; i < iovcnt; ++i) {
      ssize_t n = write(fd, iov[i].iov_base, iov[i].iov_len);
      if (n < 0) return total ? total : -1;
      total += n;
    }
    return total;
  }
  SOCKET_CALL(lwip_writev(s, iov, iovcnt));
}

int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  atl::fd::File* f = atl::fd::get(fd);
  if (!f) return static_cast<int>(fail(EBADF));
  if (request == static_cast<unsigned long>(FIONBIO)) {
    int on = *static_cast<int*>(arg);
    int flags = f->status_flags();
    int r = f->set_status_flags(on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
    return r < 0 ? static_cast<int>(fail(-r)) : 0;
  }
  SOCKET_CALL(lwip_ioctl(s, static_cast<long>(request), arg));
}

const char* inet_ntop(int af, const void* src, char* dst, socklen_t size) { return lwip_inet_ntop(af, src, dst, size); }
int inet_pton(int af, const char* src, void* dst) { return lwip_inet_pton(af, src, dst); }

int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints, struct addrinfo** res) {
  if (auto r = atl::net::ensure_up(); !r.ok()) return EAI_FAIL;
  return lwip_getaddrinfo(node, service, hints, res);
}

void freeaddrinfo(struct addrinfo* ai) { lwip_freeaddrinfo(ai); }

const char* gai_strerror(int code) {
  switch (code) {
    case 0: return "Success";
    case EAI_NONAME: return "Name or service not known";
    case EAI_SERVICE: return "Servname not supported for ai_socktype";
    case EAI_FAIL: return "Non-recoverable failure in name resolution";
    case EAI_MEMORY: return "Memory allocation failure";
    case EAI_FAMILY: return "ai_family not supported";
    default: return "Unknown error";
  }
}

struct hostent* gethostbyname(const char* name) {
  if (auto r = atl::net::ensure_up(); !r.ok()) return nullptr;
  return lwip_gethostbyname(name);
}

}  // extern "C"
