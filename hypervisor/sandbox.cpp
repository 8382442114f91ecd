#include "sandbox.h"

#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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

// A refill waits this long after the last create that took a loader: the
// guest just handed one boots meanwhile (~2-3 ms), without a spawn beside it.
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
// The loader starts with `child_mask` blocked, or with the caller's mask.
std::optional<Sandbox> spawn_loader(std::initializer_list<std::pair<int, int>> inherit, std::string& error,
                                    const sigset_t* child_mask = nullptr) {
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
  LoaderChild child{path.c_str(), &moved, child_mask ? child_mask : &old};
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

namespace {

// Gives a waiting loader the domain's memfds; false if it died while it waited.
bool hand_over(int socket_fd, int ram_fd, int frames_fd) {
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
  return sendmsg(socket_fd, &msg, MSG_NOSIGNAL) == 1;
}

}  // namespace

SandboxPool::SandboxPool(EventLoop& loop, size_t size) : m_loop(loop), m_size(size) {
  if (m_size == 0) return;
  m_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m_wake_fd < 0) return;  // then no thread either: every create spawns its own
  m_loop.add_fd(m_wake_fd, EPOLLIN, [this](uint32_t) {
    uint64_t n;
    (void)!read(m_wake_fd, &n, sizeof n);
    answer_claims();
  });
  // The thread starts with every signal blocked: the loop reads them from
  // signalfds, and a stop signal delivered to this thread would kill the
  // process. Its loaders start with the loop thread's mask, as one spawned
  // by the loop would (a guest's fault and upcall signals must not be
  // blocked). The loaders are the thread's children as the kernel sees
  // their parent-death signal: they die with the thread, which lives as long
  // as the pool, and the pool outlives every domain.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &m_loader_mask);
  m_thread = std::thread([this] { spawner(); });
  pthread_sigmask(SIG_SETMASK, &m_loader_mask, nullptr);
}

SandboxPool::~SandboxPool() {
  if (m_thread.joinable()) {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_wake_spawner.notify_one();
    m_thread.join();
  }
  if (m_refill_timer) m_loop.cancel_timer(*m_refill_timer);
  if (m_wake_fd >= 0) {
    m_loop.remove_fd(m_wake_fd);
    close(m_wake_fd);
  }
  for (Waiting& w : m_waiting) discard(w);
}

void SandboxPool::discard(Waiting& w) {
  close(w.socket_fd);  // a waiting loader exits on end of file; make sure
  w.socket_fd = -1;
  close_sandbox(w.sandbox);
}

size_t SandboxPool::ready() const {
  std::lock_guard lock(m_mutex);
  return m_waiting.size();
}

std::optional<Sandbox> SandboxPool::adopt(int ram_fd, int frames_fd) {
  if (!m_thread.joinable() || !m_claims.empty()) return std::nullopt;  // none, or not this create's turn
  for (;;) {
    Waiting w;
    {
      std::lock_guard lock(m_mutex);
      if (m_waiting.empty()) return std::nullopt;
      w = m_waiting.back();
      m_waiting.pop_back();
    }
    schedule_refill();
    if (hand_over(w.socket_fd, ram_fd, frames_fd)) {
      close(w.socket_fd);
      return w.sandbox;
    }
    discard(w);  // that loader died while it waited: try the next
  }
}

uint64_t SandboxPool::claim(int ram_fd, int frames_fd, Ready ready) {
  if (!m_thread.joinable()) return 0;
  {
    std::lock_guard lock(m_mutex);
    if (m_spawn_failed) return 0;  // the create spawns its own now and says why it cannot
    ++m_claimed;
  }
  uint64_t ticket = m_next_ticket++;
  m_claims.push_back(Claim{ticket, ram_fd, frames_fd, std::move(ready)});
  m_wake_spawner.notify_one();
  return ticket;
}

void SandboxPool::cancel(uint64_t ticket) {
  for (auto it = m_claims.begin(); it != m_claims.end(); ++it)
    if (it->ticket == ticket) {
      m_claims.erase(it);
      std::lock_guard lock(m_mutex);
      --m_claimed;
      return;
    }
}

// Oldest claim first; each callback runs with the claim already gone, so it
// may create, cancel or end domains.
void SandboxPool::answer_claims() {
  while (!m_claims.empty()) {
    std::optional<Waiting> w;
    {
      std::lock_guard lock(m_mutex);
      if (!m_waiting.empty()) {
        w = m_waiting.back();
        m_waiting.pop_back();
      } else if (!m_spawn_failed) {
        return;  // the spawner wakes us again
      }
    }
    if (w && !hand_over(w->socket_fd, m_claims.front().ram_fd, m_claims.front().frames_fd)) {
      discard(*w);
      continue;
    }
    Claim c = std::move(m_claims.front());
    m_claims.pop_front();
    {
      std::lock_guard lock(m_mutex);
      --m_claimed;
    }
    schedule_refill();
    if (w) {
      close(w->socket_fd);
      c.ready(w->sandbox);
    } else {
      c.ready(std::nullopt);
    }
  }
}

// Refills the pool a few milliseconds after the last create took from it:
// the guest just handed a loader boots first, without a spawn beside it on
// two CPUs (the spawner is not even woken before then).
void SandboxPool::schedule_refill() {
  if (m_refill_timer) m_loop.cancel_timer(*m_refill_timer);
  m_refill_timer = m_loop.add_timer(monotonic_ns() + kRefillDelayNs, [this] {
    m_refill_timer.reset();
    {
      std::lock_guard lock(m_mutex);
      m_refill = true;
    }
    m_wake_spawner.notify_one();
  });
}

// The spawner thread: one loader at a time, for a claim at once, and to
// refill the pool when the loop says so.
void SandboxPool::spawner() {
  std::unique_lock lock(m_mutex);
  while (!m_stop) {
    if (m_waiting.size() >= m_size) m_refill = false;
    if (m_waiting.size() >= m_claimed + (m_refill ? m_size : 0)) {
      m_wake_spawner.wait(lock);
      continue;
    }
    lock.unlock();
    std::optional<Waiting> w;
    int sv[2];
    std::string error;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0) {
      if (auto s = spawn_loader({{sv[1], kLoaderPoolFd}}, error, &m_loader_mask)) w = Waiting{*s, sv[0]};
      else close(sv[0]);
      close(sv[1]);
    }
    lock.lock();
    if (w) m_waiting.push_back(*w);
    m_spawn_failed = !w;  // then the claims' creates spawn their own, which says why
    if (m_claimed > 0) {
      uint64_t one = 1;
      (void)!write(m_wake_fd, &one, sizeof one);
    }
    if (!w) {  // no more refills until a create takes one, and the claims' retries paced
      m_refill = false;
      m_wake_spawner.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
}

}  // namespace atl::hv
