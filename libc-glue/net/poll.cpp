// poll() and select() over the descriptor table: sockets are waited on through
// lwip_poll (lwIP wakes it from its own event callbacks); the console and
// files never block, so they are always ready for what was asked.
#include <errno.h>
#include <string.h>
#include <sys/select.h>

#include <vector>

#include "atoll/fd.h"
#include "atoll/sched.h"
#include "atoll_posix_net.h"

namespace {

constexpr nfds_t kOnStack = 64;

}  // namespace

extern "C" {

int poll(struct pollfd* fds, nfds_t nfds, int timeout) {
  // Sockets go to lwIP with their lwIP numbers; `where` maps them back.
  pollfd stack_fds[kOnStack];
  nfds_t stack_where[kOnStack];
  std::vector<pollfd> heap_fds;
  std::vector<nfds_t> heap_where;
  pollfd* lw = stack_fds;
  nfds_t* where = stack_where;
  if (nfds > kOnStack) {
    heap_fds.resize(nfds);
    heap_where.resize(nfds);
    lw = heap_fds.data();
    where = heap_where.data();
  }
  nfds_t nlw = 0;
  int ready = 0;
  for (nfds_t i = 0; i < nfds; ++i) {
    fds[i].revents = 0;
    if (fds[i].fd < 0) continue;
    atl::fd::File* f = atl::fd::get(fds[i].fd);
    if (!f) {
      fds[i].revents = POLLNVAL;
    } else if (int s = f->lwip_socket(); s >= 0) {
      lw[nlw] = pollfd{s, fds[i].events, 0};
      where[nlw++] = i;
      continue;
    } else {
      fds[i].revents = static_cast<short>(fds[i].events & (POLLIN | POLLOUT));
    }
    if (fds[i].revents) ++ready;
  }
  if (nlw == 0) {
    if (ready == 0 && timeout != 0) {
      // Nothing can ever become ready: sleep out the timeout (or forever).
      if (timeout < 0) for (;;) atl::sched::sleep_ns(~0ULL >> 2);
      atl::sched::sleep_ns(static_cast<uint64_t>(timeout) * 1000000ULL);
    }
    return ready;
  }
  int r = lwip_poll(lw, nlw, ready ? 0 : timeout);
  if (r < 0) return -1;
  for (nfds_t j = 0; j < nlw; ++j) {
    fds[where[j]].revents = lw[j].revents;
    if (lw[j].revents) ++ready;
  }
  return ready;
}

int select(int nfds, fd_set* readfds, fd_set* writefds, fd_set* exceptfds, struct timeval* timeout) {
  if (nfds < 0 || nfds > FD_SETSIZE) {
    errno = EINVAL;
    return -1;
  }
  std::vector<pollfd> fds;
  for (int fd = 0; fd < nfds; ++fd) {
    short events = 0;
    if (readfds && FD_ISSET(fd, readfds)) events |= POLLIN;
    if (writefds && FD_ISSET(fd, writefds)) events |= POLLOUT;
    if (exceptfds && FD_ISSET(fd, exceptfds)) events |= POLLPRI;
    if (events) fds.push_back(pollfd{fd, events, 0});
  }
  int ms = timeout ? static_cast<int>(timeout->tv_sec * 1000 + timeout->tv_usec / 1000) : -1;
  int r = poll(fds.data(), fds.size(), ms);
  if (r < 0) return -1;
  if (readfds) FD_ZERO(readfds);
  if (writefds) FD_ZERO(writefds);
  if (exceptfds) FD_ZERO(exceptfds);
  int count = 0;
  for (const pollfd& p : fds) {
    if (p.revents & POLLNVAL) {
      errno = EBADF;
      return -1;
    }
    if (readfds && (p.revents & (POLLIN | POLLERR | POLLHUP))) FD_SET(p.fd, readfds), ++count;
    if (writefds && (p.revents & (POLLOUT | POLLERR))) FD_SET(p.fd, writefds), ++count;
    if (exceptfds && (p.revents & POLLPRI)) FD_SET(p.fd, exceptfds), ++count;
  }
  return count;
}

}  // extern "C"
