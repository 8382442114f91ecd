#include "sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "atoll/hosted_abi.h"
#include "clock.h"

namespace atl::hv {

using namespace hosted;

namespace {

// A refill waits this long after the create that emptied a place: the guest
// just handed a loader boots meanwhile (~2-3 ms), without a spawn beside it.
constexpr uint64_t kRefillDelayNs = 5'000'000;

std::string loader_path() {
  if (const char* env = getenv("ATOLL_LOADER")) return env;
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "atoll-loader";
  self[n] = 0;
  std::string dir(self);
  return dir.substr(0, dir.rfind('/')) + "/atoll-loader";
}

// What the child of spawn_loader reads from our memory (it shares it until
// its exec) and where it leaves errno if it cannot exec.
struct LoaderChild {
  const char* path;
  const std::vector<std::pair<int, int>>* moves;  // (our descriptor, its number there)
  const sigset_t* mask;
  int error = 0;
};

// Runs on its own stack in our address space while we wait (CLONE_VFORK), so
// it only makes system calls. atoll installs no signal handlers (signals are
// read from signalfds; SIGPIPE is ignored), so nothing of ours can run here
// once the mask is back to what it was before the exec.
__attribute__((no_sanitize("address"))) int loader_child(void* p) {
  auto* c = static_cast<LoaderChild*>(p);
  for (auto [fd, target] : *c->moves)
    if (dup2(fd, target) < 0) {
      c->error = errno;
      _exit(127);
    }
  sigprocmask(SIG_SETMASK, c->mask, nullptr);
  char* argv[] = {const_cast<char*>("atoll-loader"), nullptr};
  char* envp[] = {nullptr};
  execve(c->path, argv, envp);
  c->error = errno;
  _exit(127);
}

// Spawns the loader with `inherit` (our descriptor, its number) and a status
// pipe on kLoaderStatusFd; nothing else of ours reaches it. Not posix_spawn:
// its child resets the disposition of every blocked signal, one system call
// each (~70 us a domain here, perf), and it opens no pidfd; a vfork-style
// clone that asks for a pidfd does neither.
std::optional<Sandbox> spawn_loader(std::initializer_list<std::pair<int, int>> inherit, std::string& error) {
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + strerror(errno);
    return std::nullopt;
  }
  // Moved out of the way first: dup2 onto the same number would keep
  // close-on-exec set, and a source may sit on another's target.
  std::vector<std::pair<int, int>> moved;
  for (auto [fd, target] : inherit) moved.emplace_back(fcntl(fd, F_DUPFD_CLOEXEC, 64), target);
  moved.emplace_back(fcntl(status_pipe[1], F_DUPFD_CLOEXEC, 64), kLoaderStatusFd);
  close(status_pipe[1]);
  std::string path = loader_path();
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);  // none reaches the child before its exec
  LoaderChild child{path.c_str(), &moved, &old};
  alignas(64) char stack[16384];  // the child's, while we wait
  Sandbox s;
  s.pid = clone(loader_child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &child, &s.pidfd);
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  for (auto [fd, target] : moved) close(fd);
  if (s.pid < 0 || child.error != 0) {
    if (s.pid > 0) {
      waitpid(s.pid, nullptr, 0);
      close(s.pidfd);
    }
    close(status_pipe[0]);
    error = "cannot start the guest loader " + path + ": " + strerror(s.pid < 0 ? clone_errno : child.error);
    return std::nullopt;
  }
  s.status_fd = status_pipe[0];
  fcntl(s.status_fd, F_SETFL, O_NONBLOCK);
  return s;
}

void close_sandbox(Sandbox& s) {
  if (s.pid > 0) {
    kill(s.pid, SIGKILL);
    waitpid(s.pid, nullptr, 0);
  }
  for (int fd : {s.pidfd, s.status_fd})
    if (fd >= 0) close(fd);
  s = Sandbox{};
}

}  // namespace

std::optional<Sandbox> spawn_sandbox(int ram_fd, int frames_fd, std::string& error) {
  return spawn_loader({{ram_fd, kLoaderMemoryFd}, {frames_fd, kLoaderHvFramesFd}}, error);
}

SandboxPool::SandboxPool(EventLoop& loop, size_t size) : m_loop(loop), m_size(size) {
  if (m_size) m_refill = m_loop.add_timer(monotonic_ns(), [this] { m_refill.reset(); refill_one(); });
}

SandboxPool::~SandboxPool() {
  if (m_refill) m_loop.cancel_timer(*m_refill);
  for (Waiting& w : m_waiting) discard(w);
}

void SandboxPool::discard(Waiting& w) {
  close(w.socket_fd);  // a waiting loader exits on end of file; make sure
  w.socket_fd = -1;
  close_sandbox(w.sandbox);
}

std::optional<Sandbox> SandboxPool::adopt(int ram_fd, int frames_fd) {
  while (!m_waiting.empty()) {
    Waiting w = m_waiting.back();
    m_waiting.pop_back();
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(2 * sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    int fds[2] = {ram_fd, frames_fd};
    std::memcpy(CMSG_DATA(c), fds, sizeof fds);
    bool sent = sendmsg(w.socket_fd, &msg, MSG_NOSIGNAL) == 1;
    if (!sent) {  // that loader died while it waited: try the next
      discard(w);
      continue;
    }
    close(w.socket_fd);
    schedule_refill();
    return w.sandbox;
  }
  schedule_refill();
  return std::nullopt;
}

void SandboxPool::schedule_refill() {
  if (m_size == 0 || m_refill) return;  // a refill is on its way already
  m_refill = m_loop.add_timer(monotonic_ns() + kRefillDelayNs, [this] { m_refill.reset(); refill_one(); });
}

// One loader per turn of the loop, so a create arriving meanwhile waits for
// one spawn at most.
void SandboxPool::refill_one() {
  if (m_waiting.size() >= m_size) return;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return;
  std::string error;
  auto s = spawn_loader({{sv[1], kLoaderPoolFd}}, error);
  close(sv[1]);
  if (!s) {
    close(sv[0]);
    return;  // the next create spawns its own and says why if it cannot
  }
  m_waiting.push_back(Waiting{*s, sv[0]});
  if (m_waiting.size() < m_size) m_refill = m_loop.add_timer(monotonic_ns(), [this] { m_refill.reset(); refill_one(); });
}

}  // namespace atl::hv
